"""Tool arguments checked the way a calling model can act on: one sentence per bad argument.

The SDK validates arguments with pydantic in lax mode: unknown names are silently ignored (a model that sends
`conversationId` starts a new conversation without a word), `"yes"` counts as true, and a failure comes back
as pydantic's multi-line text with a documentation URL. `check` runs first, on the tool's published input
schema, and `explain` turns pydantic's errors into sentences naming the argument, what was given and what is
allowed. Pure functions of the schema: no mcp import, so they are tested directly too.

What stays lax, on evidence of what real hosts send: Claude Code and Claude Desktop turn tool arguments into
strings on the way out (anthropics/claude-code#24597, #32524 numbers; #29104, #91803 booleans), so a number
sent as a numeric string (`"0.5"`, `"200"`) is accepted, and a boolean sent as the string `"true"` or `"false"`
is taken as that boolean. Anything else is rejected: `"yes"`, `"1"`, `1` or `"on"` for a boolean, `true` for a
number. Lists sent as JSON text (Claude Desktop's habit) are parsed by the SDK itself.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ArgumentProblem", "check", "combine", "explain"]

_BOOLEAN_STRINGS = {"true": True, "false": False}


class ArgumentProblem(ValueError):
    """The arguments of a tool call cannot be used; the message has one sentence per bad argument."""

    def __init__(self, tool: str, sentences: list[str], names: list[str] | None = None,
                 rest: dict[str, Any] | None = None) -> None:
        self.tool = tool
        self.sentences = sentences
        self.names = names or []  # the bad arguments' names, for logs that must not echo the caller's values
        self.rest = rest or {}  # the arguments not yet found bad, to validate for the rest of the sentences
        count = "1 argument" if len(sentences) == 1 else f"{len(sentences)} arguments"
        super().__init__(f"The {tool} tool was not run: {count} to fix.\n" + "\n".join(f"- {s}" for s in sentences))


def check(tool: str, schema: Mapping[str, Any], arguments: Mapping[str, Any],
          patterns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The arguments to validate, booleans normalised; raise ArgumentProblem for unknown names and non-booleans.

    `patterns` explains regular expressions in words (pattern -> "a model id such as GigaChat-2")."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    sentences: list[str] = []
    names: list[str] = []
    cleaned = dict(arguments)
    for name in arguments:
        if name not in properties:
            sentences.append(_unknown(tool, name, properties))
            names.append(name)
    for name, value in arguments.items():
        prop = properties.get(name)
        if prop is None:
            continue
        types = _types(prop)
        if "boolean" in types and not isinstance(value, bool) and not (value is None and "null" in types):
            if isinstance(value, str) and value.strip().lower() in _BOOLEAN_STRINGS:
                cleaned[name] = _BOOLEAN_STRINGS[value.strip().lower()]
            else:
                sentences.append(_sentence(name, value, prop, patterns))
                names.append(name)
        elif isinstance(value, bool) and types & {"number", "integer"} and "boolean" not in types:
            sentences.append(_sentence(name, value, prop, patterns))
            names.append(name)
    if sentences:
        raise ArgumentProblem(tool, sentences, names, {k: v for k, v in cleaned.items() if k not in names})
    return cleaned


def explain(tool: str, schema: Mapping[str, Any], arguments: Mapping[str, Any], errors: Iterable[Mapping[str, Any]],
            patterns: Mapping[str, str] | None = None) -> ArgumentProblem:
    """One sentence per argument named in pydantic's `errors` (from ValidationError.errors())."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    sentences: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "__root__"]
        if not loc or not isinstance(loc[0], str) or loc[0] in seen:
            continue
        name = loc[0]
        seen.add(name)
        names.append(name)
        prop = properties.get(name, {})
        if error.get("type") == "missing" or name not in arguments:
            sentences.append(f"`{name}` is required: {_allowed(prop, patterns)}; it was not given.")
            continue
        value: Any = arguments[name]
        if isinstance(value, str) and "string" not in _types(prop):
            try:  # the SDK parses lists sent as JSON text; describe the value it validated
                value = json.loads(value)
            except ValueError:
                pass
        where, item_prop = "", prop
        for part in loc[1:]:
            if isinstance(part, int) and isinstance(value, list) and part < len(value):
                where = f"{where} item {part + 1} of {len(value)}"
                value, item_prop = value[part], _items(item_prop)
        if where:
            sentences.append(f"`{name}`{where}: {_allowed(item_prop, patterns)}; got {_shown(value)}.")
        else:
            sentences.append(_sentence(name, value, prop, patterns))
    if not sentences:  # nothing we can place on an argument: say so plainly, still without pydantic's text
        sentences.append("the arguments do not match the tool's input schema.")
    return ArgumentProblem(tool, sentences, names)


def combine(first: ArgumentProblem, more: ArgumentProblem | None) -> ArgumentProblem:
    """`first` plus the sentences of `more` about arguments `first` did not name (a missing one, a bad value)."""
    if more is None:
        return first
    extra = [(n, s) for n, s in zip(more.names, more.sentences) if n not in first.names]
    return ArgumentProblem(first.tool, first.sentences + [s for _, s in extra], first.names + [n for n, _ in extra])


def _unknown(tool: str, name: str, properties: Mapping[str, Any]) -> str:
    known = list(properties)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:  # conversationId -> conversation_id: compare without case and separators too
        folded = {k.replace("_", "").lower(): k for k in known}
        match = difflib.get_close_matches(name.replace("_", "").replace("-", "").lower(), list(folded), n=1,
                                          cutoff=0.75)
        close = [folded[match[0]]] if match else []
    hint = f"did you mean `{close[0]}`?" if close else f"its arguments are {', '.join(f'`{k}`' for k in known)}."
    return f"`{name}` is not an argument of {tool}; {hint}" if known else f"`{name}`: {tool} takes no arguments."


def _sentence(name: str, value: Any, prop: Mapping[str, Any], patterns: Mapping[str, str] | None) -> str:
    return f"`{name}` must be {_allowed(prop, patterns)}; got {_shown(value)}."


def _types(prop: Mapping[str, Any]) -> set[str]:
    if "anyOf" in prop:
        return {t for option in prop["anyOf"] for t in _types(option)}
    kind = prop.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _items(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    for option in prop.get("anyOf", [prop]):
        if "items" in option:
            return option["items"]
    return {}


def _allowed(prop: Mapping[str, Any], patterns: Mapping[str, str] | None) -> str:
    """What the schema allows, in words: 'a number from 0 to 2 (or null)'."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    nullable = len(options) < len(prop.get("anyOf", [prop]))
    words = " or ".join(_one(o, patterns) for o in options) or "a value"
    return words + (" (or null for the default)" if nullable else "")


def _one(prop: Mapping[str, Any], patterns: Mapping[str, str] | None) -> str:
    kind = prop.get("type")
    if "enum" in prop:
        return "one of " + ", ".join(json.dumps(v) for v in prop["enum"])
    if kind == "boolean":
        return "true or false"
    if kind in ("number", "integer"):
        noun = "a whole number" if kind == "integer" else "a number"
        low, high = prop.get("minimum", prop.get("exclusiveMinimum")), prop.get("maximum",
                                                                                prop.get("exclusiveMaximum"))
        if low is not None and high is not None:
            return f"{noun} from {low:g} to {high:g}"
        if low is not None:
            return f"{noun} of at least {low:g}"
        return f"{noun} of at most {high:g}" if high is not None else noun
    if kind == "string":
        pattern = prop.get("pattern")
        if pattern and patterns and pattern in patterns:
            return patterns[pattern]
        low, high = prop.get("minLength"), prop.get("maxLength")
        text = "text" if pattern is None else f"text matching {pattern}"
        if low and high:
            return f"{text} of {low} to {high:,} characters"
        if high:
            return f"{text} of at most {high:,} characters"
        return f"non-empty {text}" if low else text
    if kind == "array":
        low, high = prop.get("minItems"), prop.get("maxItems")
        size = f"{low} to {high} items" if low and high else f"at most {high} items" if high else "items"
        return f"a list of {size}, each {_allowed(_items(prop), patterns)}"
    if kind == "object":
        return "an object"
    return "a value"


def _shown(value: Any) -> str:
    """The given value, short: long text is described by its length, not echoed."""
    if isinstance(value, str):
        if len(value) > 60:
            return f"text of {len(value):,} characters"
        return "empty text" if not value else f"the text {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        kind = "a list" if isinstance(value, list) else "an object"
        return f"{kind} of {len(value)} item{'s' * (len(value) != 1)}" if len(text) > 60 else f"{kind} {text}"
    return json.dumps(value, default=str)
