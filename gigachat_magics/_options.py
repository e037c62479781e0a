"""The cell options for the richer chat: --think, --web, -f json / --schema, turned into client options.

A schema is a dict or a pydantic model class held in a variable, or the path of a JSON file; `-f json`
without one asks for any JSON object.
"""

from __future__ import annotations

import json
import os
from typing import Any

from IPython.core.error import UsageError

__all__ = ["ANY_OBJECT", "richer_options"]

ANY_OBJECT: dict[str, Any] = {"type": "object"}


def richer_options(args: Any, namespace: dict[str, Any], fmt: str, tools: list[str] | None) -> dict[str, Any]:
    """reasoning_effort, tools (web search added) and response_format for this cell."""
    options: dict[str, Any] = {}
    if getattr(args, "think", None):
        options["reasoning_effort"] = args.think
    if getattr(args, "web", False):
        tools = [*(tools or ()), "web_search"]
    options["tools"] = tools or None
    schema = getattr(args, "schema", None)
    if schema is not None:
        options["response_format"] = _schema(schema, namespace)
    elif fmt == "json":
        options["response_format"] = ANY_OBJECT
    return options


def _schema(name: str, namespace: dict[str, Any]) -> Any:
    if name in namespace:
        value = namespace[name]
        if isinstance(value, dict) or (isinstance(value, type) and hasattr(value, "model_json_schema")):
            return value
        raise UsageError(f"--schema {name}: the variable holds a {type(value).__name__}; give a JSON Schema dict or "
                         "a pydantic model class.")
    path = os.path.expanduser(name)
    if not os.path.isfile(path):
        raise UsageError(f"--schema {name!r} is neither a variable nor a JSON file.")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--schema {name!r}: cannot read it as JSON ({exc}).") from None
