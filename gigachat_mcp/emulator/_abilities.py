"""The richer chat as the emulated service reads and answers it: reasoning, web search, JSON-schema answers and
function calls, on the v1 and v2 contracts (and the service's refusals where a contract lacks one).

Everything is deterministic so tests can assert on it: the reasoning quotes the question, web search answers
with two sources derived from the question (with `[sources=[N]]` markers in the text, as recorded), a schema
answer is the smallest instance that fits the schema (`[emulator misfit=1]` in the prompt makes it not fit),
a function is called when one is offered and the last user message names it, and the next request's answer
quotes the function's result so tests can see it arrive.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..client._schema import resolve_ref  # one JSON-Schema walker: the same $ref reading as the client's
from ._answers import Answer, count_tokens

__all__ = ["Plan", "ai_check", "apply", "minimal_instance", "read_plan"]

EFFORTS = ("low", "medium", "high")
V2_TOOLS = ("web_search", "url_content_extraction", "code_interpreter", "image_generate", "model_3d_generate",
            "functions")
_MISFIT = re.compile(r"\[emulator[^\]]*\bmisfit=1\b[^\]]*\]")


@dataclass
class Plan:
    """What a chat request asks for beyond plain text."""

    effort: str | None = None
    web_search: bool = False
    tools: tuple[str, ...] = ()  # v2 built-in tools named in the request, in order
    schema: dict[str, Any] | None = None
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_mode: Any = "auto"  # "auto", "none" or the name of a function that must be called
    results: list[tuple[str, str]] = field(default_factory=list)  # (name, result) sent back since the last user turn
    misfit: bool = False
    v2: bool = False  # the v2 contract: its answers carry tool_state_id wherever a tool was in play


def read_plan(request: dict[str, Any], version: str) -> tuple[tuple[int, str] | None, Plan]:
    """(status, message) the service would refuse the request with, or None and what it asks for."""
    plan = Plan(v2=version == "v2")
    options = request.get("model_options") or {} if version == "v2" else request
    effort = options.get("reasoning", {}).get("effort") if version == "v2" and isinstance(
        options.get("reasoning"), dict) else options.get("reasoning_effort")
    if effort is not None:
        if effort not in EFFORTS:
            return (422, f"Invalid params: reasoning effort must be one of low, medium, high ({effort!r})"), plan
        plan.effort = effort
    problem = _read_format(options.get("response_format"), plan)
    if problem is None:
        problem = _read_tools_v2(request, plan) if version == "v2" else _read_functions_v1(request, plan)
    if problem is not None:
        return problem, plan
    plan.results = _function_results(request, version)
    messages = [m for m in request.get("messages") or () if isinstance(m, dict)]
    last_user = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    plan.misfit = bool(_MISFIT.search(last_user))
    return None, plan


def _read_format(fmt: Any, plan: Plan) -> tuple[int, str] | None:
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "text", "regex"):
        return 422, "Invalid params: response_format.type must be json_schema, text or regex"
    if fmt["type"] != "json_schema":
        return None
    schema = fmt.get("schema")
    if schema is None and isinstance(fmt.get("json_schema"), dict):
        schema = fmt["json_schema"].get("schema", fmt["json_schema"])
    if not isinstance(schema, dict):
        return 422, "Invalid params: Field 'response_format.schema' is missing"
    plan.schema = schema
    return None


def _read_functions_v1(request: dict[str, Any], plan: Plan) -> tuple[int, str] | None:
    if "tools" in request:  # a v2 field: the v1 contract has no web search or code interpreter
        return 422, "Invalid params: tools are not supported by /v1/chat/completions; use /v2/chat/completions"
    functions = request.get("functions") or []
    problem = _take_functions(functions, plan, "functions")
    if problem is not None:
        return problem
    call = request.get("function_call")
    if isinstance(call, dict):
        plan.function_mode = call.get("name")
        if plan.function_mode != "text2image" and plan.function_mode not in plan.functions:
            return 422, f"Invalid params: function_call names {plan.function_mode!r}, which is not in functions"
    elif call == "none":
        plan.function_mode = "none"
    return None


def _read_tools_v2(request: dict[str, Any], plan: Plan) -> tuple[int, str] | None:
    tools = request.get("tools") or []
    if not isinstance(tools, list):
        return 422, "Invalid params: tools must be a list"
    names: list[str] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or len(tool) != 1 or next(iter(tool)) not in V2_TOOLS:
            return 422, f"Invalid params: tools[{index}] is not a known tool ({', '.join(V2_TOOLS)})"
        name = next(iter(tool))
        if name == "functions":
            specs = (tool["functions"] or {}).get("specifications") or []
            problem = _take_functions(specs, plan, f"tools[{index}].functions.specifications")
            if problem is not None:
                return problem
        else:
            names.append(name)
    plan.tools = tuple(names)
    plan.web_search = "web_search" in names
    config = request.get("tool_config") or {}
    if config.get("mode") == "none":
        plan.function_mode = "none"
    elif config.get("mode") == "forced" and config.get("function_name"):
        plan.function_mode = config["function_name"]
        if plan.function_mode not in plan.functions:
            return 422, f"Invalid params: tool_config names function {plan.function_mode!r}, which is not offered"
    return None


def _take_functions(specs: Any, plan: Plan, where: str) -> tuple[int, str] | None:
    if not isinstance(specs, list):
        return 422, f"Invalid params: {where} must be a list"
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            return 422, f"Invalid params: {where}[{index}].name is missing"
        parameters = spec.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            return 422, f"Invalid params: {where}[{index}].parameters must be a JSON Schema object"
        if "properties" in parameters and not isinstance(parameters["properties"], dict):
            return 422, f"Invalid params: Field '{where}[{index}].parameters.properties' is missing"
        plan.functions[spec["name"]] = {**spec, "parameters": parameters}
    return None


def _function_results(request: dict[str, Any], version: str) -> list[tuple[str, str]]:
    """Function results sent after the last user message: v1 role function, v2 role tool with function_result."""
    found: list[tuple[str, str]] = []
    for message in request.get("messages") or ():
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            found = []
        elif version == "v1" and message.get("role") == "function":
            found.append((str(message.get("name") or ""), str(message.get("content") or "")))
        elif version == "v2" and isinstance(message.get("content"), list):
            for part in message["content"]:
                result = part.get("function_result") if isinstance(part, dict) else None
                if isinstance(result, dict):
                    value = result.get("result")
                    found.append((str(result.get("name") or ""),
                                  value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return found


def apply(answer: Answer, plan: Plan, messages: list[dict[str, Any]], state_ids: set[str]) -> Answer:
    """The answer with what the plan asks for: a function call, results quoted, JSON, sources, reasoning."""
    last = messages[-1] if messages else {}
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    text = answer.text
    if plan.tools:
        text += " Tools allowed: " + ", ".join(plan.tools) + "."
    for name, result in plan.results:
        text += f' Function {name} returned: "{result[:500]}".'
    changes: dict[str, Any] = {}
    wanted = _wanted_function(plan, last_user) if last.get("role") == "user" else None
    if wanted is not None:
        arguments = _arguments(plan.functions[wanted]["parameters"], last_user)
        changes.update(text="", finish_reason="function_call", function_call={"name": wanted, "arguments": arguments},
                       state_id=_new_state(state_ids))
    elif plan.schema is not None:
        value: Any = minimal_instance(plan.schema)
        if plan.misfit:
            value = _misfit(plan.schema)
        text = json.dumps(value, ensure_ascii=False, indent=2)
        changes["text"] = text
    elif plan.web_search:
        sources = _sources(last_user)
        changes["sources"] = sources
        changes["text"] = text + " According to the web, this is well covered [sources=[1]]; see also [sources=[2]]."
    else:
        changes["text"] = text
    if plan.effort is not None:
        changes["reasoning"] = (f"Thinking ({plan.effort} effort) about \"{last_user[:200]}\". "
                                "First, what is asked. Then, what the answer needs. Now I will answer.")
    if plan.v2 and answer.state_id is None and "state_id" not in changes and (plan.tools or plan.results):
        changes["state_id"] = _new_state(state_ids)  # as recorded: after a function result, with a built-in tool
    final_text = changes.get("text", answer.text)
    changes["completion_tokens"] = count_tokens(final_text) + count_tokens(changes.get("reasoning", ""))
    return dataclasses.replace(answer, **changes)


def _wanted_function(plan: Plan, prompt: str) -> str | None:
    if plan.function_mode == "none" or not plan.functions:
        return None
    if plan.function_mode in plan.functions:
        return str(plan.function_mode)
    for name in plan.functions:
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", prompt):
            return name
    return None


def _arguments(parameters: dict[str, Any], prompt: str) -> dict[str, Any]:
    """The smallest arguments that fit; a `name=value` in the prompt sets that argument (numbers as numbers)."""
    arguments = minimal_instance(parameters)
    if not isinstance(arguments, dict):
        return {}
    for name, spec in (parameters.get("properties") or {}).items():
        match = re.search(rf"\b{re.escape(name)}=(\"[^\"]*\"|\S+)", prompt)
        if match:
            raw = match.group(1).strip('"').rstrip(".,;")
            kind = spec.get("type") if isinstance(spec, dict) else None
            try:
                arguments[name] = int(raw) if kind == "integer" else float(raw) if kind == "number" else raw
            except ValueError:
                arguments[name] = raw
    return arguments


def _sources(prompt: str) -> dict[str, dict[str, str]]:
    slug = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return {"1": {"url": f"https://news.example.org/{slug}", "title": f"News about {prompt[:40].strip()}"},
            "2": {"url": f"https://encyclopedia.example.org/wiki/{slug}", "title": "Encyclopedia article"}}


def _new_state(state_ids: set[str]) -> str:
    state = str(uuid.uuid4())
    state_ids.add(state)
    return state


def _misfit(schema: dict[str, Any]) -> Any:
    """JSON that does not fit `schema`: the wrong type at the top."""
    return ["this answer does not fit the schema"] if schema.get("type", "object") != "array" else {"not": "a list"}


def minimal_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """The smallest value that fits a JSON Schema (required properties, minimum lengths, first enum value)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "$ref" in schema:
        return minimal_instance(resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if not (isinstance(s, dict) and s.get("type") == "null")]
            return minimal_instance((options or schema[key])[0], root, depth + 1)
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: minimal_instance(spec, root, depth + 1) for name, spec in properties.items()}
    if kind == "array":
        item = minimal_instance(schema.get("items", {}), root, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1 if schema.get("exclusiveMinimum") == 0 else 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 8))
    return ("emulator" * (1 + low // 8))[:max(low, min(8, high))]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def ai_check(text: str) -> dict[str, Any]:
    """/ai/check's answer: sentences that mention GigaChat are 'ai' (1-based character intervals), the rest human."""
    intervals = [[m.start() + len(m.group()) - len(m.group().lstrip()) + 1, m.end()]
                 for m in _SENTENCE.finditer(text) if "gigachat" in m.group().lower()]
    covered = sum(end - start + 1 for start, end in intervals)
    category = "human" if not intervals else "ai" if covered >= len(text.strip()) else "mixed"
    return {"category": category, "characters": len(text), "tokens": count_tokens(text), "ai_intervals": intervals}
