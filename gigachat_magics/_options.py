"""The cell's --think, --web and -f json / --schema as client options, through the core's one mapping.

A schema is a dict or a pydantic model class held in a variable, or the path of a JSON file; `-f json`
without one asks for any JSON object.
"""

from __future__ import annotations

import json
import os
from typing import Any

from IPython.core.error import UsageError

__all__ = ["ANY_OBJECT", "cell_options"]

ANY_OBJECT: dict[str, Any] = {"type": "object"}


def cell_options(args: Any, namespace: dict[str, Any], fmt: str, draw: bool) -> dict[str, Any]:
    """reasoning_effort, tools (drawing when `draw`, web search with --web) and response_format for this cell."""
    from gigachat_mcp import chat_options  # on first use, as the magics load the core: %load_ext stays light

    name = getattr(args, "schema", None)
    schema = _schema(name, namespace) if name is not None else ANY_OBJECT if fmt == "json" else None
    return chat_options(think=getattr(args, "think", None), web=getattr(args, "web", False), schema=schema,
                        draw=draw)


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
