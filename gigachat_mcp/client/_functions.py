"""Functions GigaChat may call: specs from plain Python callables, and the function-result messages.

A callable's spec comes from its signature (parameters without defaults are required), its type hints (str,
int, float, bool, list[...], dict, Literal, Enum, Optional, pydantic models by duck typing) and its docstring
(the first paragraph describes the function; `Args:` or `:param x:` lines describe parameters).
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import InvalidRequestError

__all__ = ["check_spec", "error_result", "result_content", "spec_from_callable"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"}, bool: {"type": "boolean"},
    dict: {"type": "object"}, list: {"type": "array"}, type(None): {"type": "null"},
}


def check_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A function spec as given ({name, description, parameters}), checked before anything is sent."""
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidRequestError(f"A function spec needs a 'name' of letters, digits and _ (got {name!r}).")
    parameters = spec.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
        raise InvalidRequestError(f"Function {name!r}: 'parameters' must be a JSON Schema object "
                                  "({'type': 'object', 'properties': {...}}).")
    checked = {**spec, "parameters": {"type": "object", "properties": {}, **parameters}}
    return checked


def spec_from_callable(function: Callable[..., Any]) -> dict[str, Any]:
    """{name, description, parameters} for a Python function."""
    name = getattr(function, "__name__", "")
    if not _NAME.match(name or ""):
        raise InvalidRequestError(f"A function in tools= needs a plain name (a def, not a lambda): {function!r}.")
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - unresolvable annotations: fall back to what inspect shows
        hints = {}
    summary, described = _docstring(inspect.getdoc(function) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.name in ("self", "cls"):
            continue
        schema = _schema_of(hints.get(parameter.name, parameter.annotation))
        if parameter.name in described:
            schema = {**schema, "description": described[parameter.name]}
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif _plain(parameter.default):
            schema = {**schema, "default": parameter.default}
        properties[parameter.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return {"name": name, "description": summary or name.replace("_", " "), "parameters": parameters}


def result_content(value: Any) -> str:
    """A function's return value as the JSON text GigaChat reads back (objects stay objects)."""
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            return json.dumps({"result": value}, ensure_ascii=False)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    if not isinstance(value, dict):
        value = {"result": value}
    return json.dumps(value, ensure_ascii=False, default=str)


def error_result(name: str, error: BaseException) -> str:
    """A failure told to the model as the function's result, so it can correct its arguments or explain."""
    return json.dumps({"error": f"{type(error).__name__}: {error}", "function": name}, ensure_ascii=False)


def _schema_of(annotation: Any) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {"type": "string"}
    if annotation in _SIMPLE:
        return dict(_SIMPLE[annotation])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string" if all(isinstance(m.value, str) for m in annotation) else "integer",
                "enum": [m.value for m in annotation]}
    if isinstance(annotation, type) and callable(getattr(annotation, "model_json_schema", None)):
        model: Any = annotation  # a pydantic model, by duck typing
        return dict(model.model_json_schema())
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"type": _SIMPLE.get(type(args[0]), {"type": "string"})["type"], "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _schema_of(options[0])
        return {"anyOf": [_schema_of(a) for a in options]}
    if origin in (list, tuple, set, frozenset) or origin is typing.Sequence:
        schema: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            schema["items"] = _schema_of(args[0])
        return schema
    if origin in (dict, Mapping):
        return {"type": "object"}
    return {"type": "string"}


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph, and parameter descriptions from Google style `Args:` or reST `:param x:` lines."""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    described: dict[str, str] = {}
    for match in re.finditer(r"^\s*:param\s+(?:\w+\s+)?(\w+):\s*(.+)$", doc, re.MULTILINE):
        described[match.group(1)] = match.group(2).strip()
    block = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.+\n?)+)", doc, re.MULTILINE)
    if block:
        for match in re.finditer(r"^[ \t]+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$", block.group(1), re.MULTILINE):
            described.setdefault(match.group(1), match.group(2).strip())
    if summary.startswith((":param", "Args:")):
        summary = ""
    return summary, described
