"""GigaChat from Python, AI assistants (MCP) and notebooks.

    from gigachat_mcp import GigaChat
    with GigaChat() as giga:                       # reads GIGACHAT_* from the environment
        for chunk in giga.stream("Hello!"):
            print(chunk.text, end="", flush=True)

This module is the public core API; it imports neither mcp nor IPython, does no I/O at import time, and loads
httpx only when a client is first used.
"""

import logging as _logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .client import _filetypes as file_types  # the service's file rules: types, kinds, size limits
from .client._attachments import check_attachments
from .client._chat_options import chat_options
from .client._errors import (
    APIError,
    AuthenticationError,
    BatchError,
    BatchTimeoutError,
    ConfigError,
    GigaChatConnectionError,
    GigaChatError,
    GigaChatTimeoutError,
    InvalidRequestError,
    MapInterrupted,
    RateLimitError,
    StreamError,
    StructuredOutputError,
    TLSError,
)
from .client._settings import Settings
from .client._tokens import TokenCache, TokenCaches
from .client._types import (
    AICheck,
    ChatChunk,
    ChatResult,
    FileInfo,
    FunctionCall,
    GeneratedFile,
    Model,
    Source,
    Token,
    TokenCount,
    Usage,
)

if TYPE_CHECKING:
    from .client._async import AsyncGigaChat
    from .client._bulk import MapResult, RowError, clear_map_cache
    from .client._sync import GigaChat

_BULK = ("MapResult", "RowError", "clear_map_cache")


def __getattr__(name: str) -> Any:
    """The clients (and httpx with them) load on first use, so front ends start without paying for them."""
    if name in ("GigaChat", "AsyncGigaChat"):
        from .client import _async, _sync

        value = getattr(_sync if name == "GigaChat" else _async, name)
        globals()[name] = value
        return value
    if name in _BULK:  # bulk work loads with its first use too
        from .client import _bulk

        value = getattr(_bulk, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AICheck",
    "APIError",
    "AsyncGigaChat",
    "AuthenticationError",
    "BatchError",
    "BatchTimeoutError",
    "ChatChunk",
    "ChatResult",
    "ConfigError",
    "FileInfo",
    "FunctionCall",
    "GeneratedFile",
    "GigaChat",
    "GigaChatConnectionError",
    "GigaChatError",
    "GigaChatTimeoutError",
    "InvalidRequestError",
    "MapInterrupted",
    "MapResult",
    "Model",
    "RateLimitError",
    "RowError",
    "Settings",
    "Source",
    "StreamError",
    "StructuredOutputError",
    "TLSError",
    "Token",
    "TokenCache",
    "TokenCaches",
    "TokenCount",
    "Usage",
    "__version__",
    "chat_options",
    "check_attachments",
    "clear_map_cache",
    "file_types",
]

_logging.getLogger("gigachat_mcp").addHandler(_logging.NullHandler())
