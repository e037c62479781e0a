"""`tools=` and `tool_choice=`: built-in tools by name on each contract, function specs and Python callables,
checked once before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _functions
from .._errors import ConfigError, InvalidRequestError

__all__ = ["BUILTIN_TOOLS", "NO_TOOLS", "Tools", "contract_for", "normalise_tools"]

# Built-in tools by our name -> their name on each contract (None: the contract lacks it).
BUILTIN_TOOLS: dict[str, dict[str, str | None]] = {
    "image_generate": {"v1": "text2image", "v2": "image_generate"},
    "web_search": {"v1": None, "v2": "web_search"},
    "url_content_extraction": {"v1": None, "v2": "url_content_extraction"},
    "code_interpreter": {"v1": None, "v2": "code_interpreter"},
}


@dataclass(frozen=True, slots=True)
class Tools:
    """What GigaChat may use besides writing text: built-in tools by name, functions (specs, and the Python
    callables behind some of them), and which one (if any) it must use.

    `reads_documents` is set when text documents are attached: on v1 the service reads them with its built-in
    get_file_content function, which needs function calling switched on."""

    builtins: tuple[str, ...] = ()
    choice: str | None = None  # None: the model decides; "none"; or a tool or function name it must call
    reads_documents: bool = False
    functions: tuple[dict[str, Any], ...] = ()
    callables: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


NO_TOOLS = Tools()


def contract_for(tools: Sequence[Any] | None, api_version: str, pinned: bool) -> str:
    """The contract a request goes on: the configured one, unless it asks for a built-in tool only the other
    contract has and the user did not pin one (GIGACHAT_API_VERSION or api_version=). A pinned contract is kept,
    and normalise_tools then says which setting to change."""
    if pinned or not tools or isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        return api_version
    for tool in tools:
        if isinstance(tool, str) and BUILTIN_TOOLS.get(tool, {}).get(api_version, "") is None:
            return _offered_by(tool)
    return api_version


def _offered_by(tool: str) -> str:
    return next(v for v, name in BUILTIN_TOOLS[tool].items() if name is not None)


def normalise_tools(tools: Sequence[Any] | None, choice: str | None = None, api_version: str = "v1") -> Tools:
    """Check `tools=[...]` and `tool_choice=` once, before anything is sent: unknown names name the known ones,
    and a tool the configured contract lacks names the setting that switches contracts.

    An item is a built-in tool's name, a function spec {name, description, parameters}, or a Python callable."""
    if tools is None:
        tools = ()
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise InvalidRequestError(f"tools must be a list such as ['web_search'], not {tools!r}.")
    names: list[str] = []
    functions: dict[str, dict[str, Any]] = {}
    callables: dict[str, Callable[..., Any]] = {}
    for tool in tools:
        if isinstance(tool, Mapping):
            spec = _functions.check_spec(tool)
        elif callable(tool) and not isinstance(tool, str):
            spec = _functions.spec_from_callable(tool)
            callables[spec["name"]] = tool
        elif isinstance(tool, str) and tool in BUILTIN_TOOLS:
            if BUILTIN_TOOLS[tool].get(api_version) is None:
                other = _offered_by(tool)
                raise ConfigError(f"The tool {tool!r} exists only on the {other} contract, and the {api_version} "
                                  f"contract is pinned: set GIGACHAT_API_VERSION={other} (or api_version={other!r}), "
                                  "or leave it unset so that each request goes on the contract it needs.")
            if tool not in names:
                names.append(tool)
            continue
        else:
            known = ", ".join(repr(n) for n in BUILTIN_TOOLS)
            raise InvalidRequestError(f"Unknown tool {tool!r}: the built-in tools are {known}; a function is a "
                                      "spec dict {name, description, parameters} or a Python callable.")
        if spec["name"] in functions or spec["name"] in BUILTIN_TOOLS:
            raise InvalidRequestError(f"Two tools are named {spec['name']!r}: function names must be unique.")
        functions[spec["name"]] = spec
    if choice not in (None, "auto", "none") and choice not in names and choice not in functions:
        raise InvalidRequestError(f"tool_choice={choice!r} must be 'auto', 'none' or the name of one of the "
                                  f"tools ({', '.join(names + list(functions)) or 'none given'}).")
    return Tools(tuple(names), None if choice == "auto" else choice, functions=tuple(functions.values()),
                 callables=callables)
