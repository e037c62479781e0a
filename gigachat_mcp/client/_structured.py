"""`response_format=`: a JSON Schema dict or a pydantic model class in, the validated answer out.

pydantic is never imported here: a class the caller passes is used by duck typing (`model_json_schema()` to
send its schema, `model_validate()` to build the instance), so the core keeps its two dependencies. A plain
schema is checked by `_schema.problems`. An answer that does not fit raises StructuredOutputError, which keeps
the raw text so nothing the model wrote is lost.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidRequestError, StructuredOutputError
from ._schema import problems
from ._types import ChatChunk, ChatResult

__all__ = ["ParsedTail", "ResponseFormat", "normalise", "parse", "with_parsed"]

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class ResponseFormat:
    """The schema sent to the service, and the model class that builds the parsed value (None: a dict)."""

    schema: dict[str, Any]
    model: Any = None


def normalise(response_format: Any) -> ResponseFormat | None:
    """Check `response_format=` before anything is sent."""
    if response_format is None:
        return None
    if isinstance(response_format, type) and callable(getattr(response_format, "model_json_schema", None)) \
            and callable(getattr(response_format, "model_validate", None)):
        model: Any = response_format  # a pydantic model class, used by duck typing
        return ResponseFormat(model.model_json_schema(), model)
    if isinstance(response_format, dict):
        schema = response_format
        if schema.get("type") == "json_schema" and isinstance(schema.get("schema"), dict):
            schema = schema["schema"]  # the wire's own wrapper, as the official SDK takes it
        try:
            json.dumps(schema)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"response_format must be JSON-serialisable ({exc}).") from None
        return ResponseFormat(schema)
    raise InvalidRequestError("response_format must be a JSON Schema dict (e.g. {'type': 'object', 'properties': "
                              f"{{...}}}}) or a pydantic model class, not {type(response_format).__name__}.")


def parse(text: str, fmt: ResponseFormat) -> Any:
    """The answer as the validated dict (or model instance); StructuredOutputError, with the text, if it does not
    fit."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise StructuredOutputError(f"GigaChat's answer is not JSON ({exc.__class__.__name__}: {exc}); the text is "
                                    "kept in .raw_text. Ask again, or simplify the schema.", raw_text=text) from None
    if fmt.model is not None:
        try:
            return fmt.model.model_validate(value)
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, whose class we do not import
            found = tuple(_pydantic_problems(exc))
            raise StructuredOutputError(_message(found, fmt.model.__name__), raw_text=text, problems=found) from None
    found = tuple(problems(value, fmt.schema))
    if found:
        raise StructuredOutputError(_message(found, "the schema"), raw_text=text, problems=found)
    return value


def with_parsed(result: ChatResult, fmt: ResponseFormat | None) -> ChatResult:
    """The answer with `.parsed` filled in, when a format was asked for and GigaChat answered in words."""
    if fmt is None or result.function_call is not None:
        return result
    return dataclasses.replace(result, parsed=parse(result.text, fmt))


class ParsedTail:
    """A stream's text gathered as it passes, so its last chunk gets `.parsed` (or StructuredOutputError, when
    the answer does not fit). Each driver passes its chunks through `see`."""

    __slots__ = ("_fmt", "_parts")

    def __init__(self, fmt: ResponseFormat) -> None:
        self._fmt = fmt
        self._parts: list[str] = []

    def see(self, chunk: ChatChunk) -> ChatChunk:
        self._parts.append(chunk.text)
        if chunk.finish_reason is not None and chunk.function_call is None:
            return dataclasses.replace(chunk, parsed=parse("".join(self._parts), self._fmt))
        return chunk


def _message(found: tuple[str, ...], what: str) -> str:
    shown = "; ".join(found[:3]) + ("; …" if len(found) > 3 else "")
    return (f"GigaChat's JSON answer does not fit {what} ({shown}); the text is kept in .raw_text. Ask again, or "
            "loosen the schema.")


def _pydantic_problems(exc: Exception) -> list[str]:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [str(exc)]
    try:
        return [f"$.{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in errors()]
    except Exception:  # noqa: BLE001 - any other validator's errors()
        return [str(exc)]
