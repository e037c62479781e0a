"""The front ends' switches for thinking, web search, a schema and drawing, as chat options, in one place.

The MCP `chat` tool (`reasoning_effort`, `web_search`, `json_schema`), `%%gigachat` (`--think`, `--web`,
`--schema`, `-f json`) and `gigachat-mcp ask` (`--think`, `--web`, `--schema`) all map through `chat_options`,
so a switch means the same in each and a new one is added once. Reading a schema from a variable or a file
stays with each front end; what the options mean (and their checks) stays with `GigaChat.chat`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["chat_options"]


def chat_options(*, think: str | None = None, web: bool = False, schema: Any = None,
                 draw: bool = False) -> dict[str, Any]:
    """`reasoning_effort`, `tools` and `response_format` for `GigaChat.chat` / `.stream` (None: the default).

    `think` is the effort ("low" | "medium" | "high"); `web` allows web search; `schema` is a JSON Schema dict or
    a pydantic model class the answer must fit; `draw` lets GigaChat draw when asked. Drawing and web search
    both stay allowed together.
    """
    tools = [*(["image_generate"] if draw else ()), *(["web_search"] if web else ())]
    return {"reasoning_effort": think or None, "tools": tools or None, "response_format": schema}
