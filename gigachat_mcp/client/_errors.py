"""The GigaChatError tree: every failure a caller can see, each saying what to do next.

    GigaChatError
    ├── ConfigError              bad or missing settings (also a ValueError)
    ├── InvalidRequestError      bad arguments to a call, caught before anything is sent (also a ValueError)
    ├── TLSError                 the server's certificate could not be verified
    ├── GigaChatConnectionError  the host could not be reached, or dropped the connection before answering
    ├── GigaChatTimeoutError     nothing arrived within GIGACHAT_TIMEOUT
    ├── StreamError              a stream broke after part of the answer was handed out (.partial_text)
    ├── StructuredOutputError    an answer did not fit response_format (.raw_text, .problems; also a ValueError)
    ├── BatchError               a Batch API batch failed or its output could not be read (.batch_id)
    │   └── BatchTimeoutError    a batch did not complete in time; rerunning the same map resumes it
    └── APIError                 the service answered with an error status (.status_code, .message)
        ├── AuthenticationError  401 or an OAuth failure (.code is the OAuth error code, if any)
        └── RateLimitError       429 (.retry_after in seconds, if the server said)

MapInterrupted (a KeyboardInterrupt, not a GigaChatError) carries what a map answered before Ctrl-C (.partial).

Messages never contain credentials or tokens.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "BatchError",
    "BatchTimeoutError",
    "ConfigError",
    "GigaChatConnectionError",
    "GigaChatError",
    "GigaChatTimeoutError",
    "InvalidRequestError",
    "MapInterrupted",
    "RateLimitError",
    "StreamError",
    "StructuredOutputError",
    "TLSError",
]


LIST_MODELS_IN_PYTHON = "`client.models()`"


def unknown_model_message(model: str, said: str, list_models: str = LIST_MODELS_IN_PYTHON,
                          near: str | None = None) -> str:
    guess = f" Did you mean {near!r}?" if near else ""
    return (f"Model {model!r} does not exist for this key ({said}).{guess} List the models it offers with "
            f"{list_models}.")


def with_near_model(error: APIError, offered: list[str]) -> APIError:
    """The unknown-model error with the closest model this key offers, when one is close (a typo)."""
    import difflib

    if error.unknown_model is None:
        return error
    folded = {model.lower(): model for model in offered}  # gigachat-2-pro is GigaChat-2-Pro mistyped
    near = [folded[m] for m in difflib.get_close_matches(error.unknown_model.lower(), list(folded), n=1, cutoff=0.8)]
    if not near:
        return error
    said = f"{error.status_code} {error.message}".strip()
    return APIError(unknown_model_message(error.unknown_model, said, near=near[0]), status_code=error.status_code,
                    server_message=error.message, unknown_model=error.unknown_model, near_model=near[0])


class GigaChatError(Exception):
    """Root of every error this package raises on purpose."""

    def message_for(self, *, list_models: str) -> str:
        """The message as a front end shows it: `list_models` says how its users list models there, e.g.
        "`gigachat-mcp models`" (the message itself names the Python way, `client.models()`)."""
        return str(self)

    def __reduce__(self):  # keyword-only fields survive pickling (multiprocessing, kernels)
        return (_rebuild, (type(self), str(self), self.__dict__))


class ConfigError(GigaChatError, ValueError):
    """A setting is missing or has a value that cannot work."""


class InvalidRequestError(GigaChatError, ValueError):
    """The arguments of a call cannot make a valid request; nothing was sent."""


class TLSError(GigaChatError):
    """The TLS handshake failed, usually because the server's CA is not trusted."""


class GigaChatConnectionError(GigaChatError):
    """The connection failed or was dropped before an answer began."""


class GigaChatTimeoutError(GigaChatError):
    """A connect, read or write wait exceeded GIGACHAT_TIMEOUT."""


class StreamError(GigaChatError):
    """The stream broke after part of the answer had been handed out; nothing is retried."""

    def __init__(self, message: str, *, partial_text: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.status_code = status_code  # set when the server sent an error event with a status


class StructuredOutputError(GigaChatError, ValueError):
    """The answer to a response_format= request is not JSON that fits the schema; `raw_text` keeps the answer."""

    def __init__(self, message: str, *, raw_text: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.problems = problems


class APIError(GigaChatError):
    """GigaChat answered with an error status."""

    def __init__(self, message: str, *, status_code: int, server_message: str = "",
                 unknown_model: str | None = None, near_model: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = server_message
        self.unknown_model = unknown_model  # the model the service does not offer this key (a 404), if that was it
        self.near_model = near_model  # the offered model closest to it, if one is close

    def message_for(self, *, list_models: str) -> str:
        if self.unknown_model is None:
            return str(self)
        return unknown_model_message(self.unknown_model, f"{self.status_code} {self.message}".strip(), list_models,
                                     self.near_model)


class AuthenticationError(APIError):
    """The credentials or the access token were rejected."""

    def __init__(self, message: str, *, status_code: int = 401, server_message: str = "", code: int | None = None):
        super().__init__(message, status_code=status_code, server_message=server_message)
        self.code = code


class RateLimitError(APIError):
    """Too many requests; `retry_after` is the server's advice in seconds, when given."""

    def __init__(self, message: str, *, server_message: str = "", retry_after: float | None = None):
        super().__init__(message, status_code=429, server_message=server_message)
        self.retry_after = retry_after


class BatchError(GigaChatError):
    """A Batch API batch ended without a usable output; `batch_id` names it."""

    def __init__(self, message: str, *, batch_id: str) -> None:
        super().__init__(message)
        self.batch_id = batch_id


class BatchTimeoutError(BatchError):
    """A batch did not complete within the wait; its id is kept in the map cache, so running the same map again
    (with the cache on) resumes waiting for the same batch instead of paying for a new one."""


class MapInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a kernel interrupt) stopped GigaChat.map: `partial` is the MapResult so far, the rows not
    answered being RowErrors; answered rows are in the map cache, so running the same map again sends only the
    rest."""

    def __init__(self, partial: object) -> None:
        super().__init__("map interrupted: the answered rows are in .partial and in the map cache")
        self.partial = partial


def _rebuild(cls: type, message: str, state: dict) -> GigaChatError:
    error: GigaChatError = Exception.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error
