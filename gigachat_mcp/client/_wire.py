"""Pure request builders and response parsers for the GigaChat API (v1 and v2 chat contracts).

Nothing here does I/O, so the sync and async clients share every byte of it. A `Call` is one request plus
how to read its answer; the clients only send it.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from . import _functions
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InvalidRequestError,
    RateLimitError,
    unknown_model_message,
)
from ._tokens import Token
from ._types import AICheck, ChatResult, FileInfo, FunctionCall, GeneratedFile, Model, Source, TokenCount, Usage

__all__ = ["NO_TOOLS", "Call", "ChatOptions", "MarkupFilter", "SourceMarks", "Tools", "api_error", "chat_call",
           "normalise_tools", "oauth_error", "parse_oauth"]

ROLES = frozenset({"system", "user", "assistant", "function", "tool", "search_result", "function_in_progress"})
EFFORTS = ("low", "medium", "high")
JSON_HEADERS = MappingProxyType({"Content-Type": "application/json", "Accept": "application/json"})
GET_HEADERS = MappingProxyType({"Accept": "application/json"})  # no body, so no Content-Type (as the SDK sends)
STREAM_HEADERS = MappingProxyType(
    {"Content-Type": "application/json", "Accept": "text/event-stream", "Cache-Control": "no-store"}
)


@dataclass(frozen=True, slots=True)
class Call:
    """One API request and the function that turns its JSON answer into a result."""

    method: str
    url: str
    parse: Callable[[Any], Any]
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    stream: str | None = None  # "v1" or "v2": the SSE dialect to decode
    model: str | None = None  # named in a 404's message
    files: Mapping[str, Any] | None = None  # multipart parts; a file object in them is streamed, never read whole
    form: Mapping[str, str] | None = None  # multipart form fields beside the files
    raw: bool = False  # the answer is the body's bytes, not JSON
    upload: bool = False  # retried only where no duplicate can result (see RetryPlan)
    not_found: str | None = None  # what a 404 means for this call
    forbidden: str | None = None  # what a 403 means for this call


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Generation settings shared by both contracts; None means 'the model's default'."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    repetition_penalty: float | None = None
    profanity_check: bool | None = None
    update_interval: float | None = None
    extra: Mapping[str, Any] | None = None
    reasoning_effort: str | None = None
    response_schema: Mapping[str, Any] | None = None  # the JSON Schema the answer must fit

    def check(self) -> None:
        if self.reasoning_effort is not None and self.reasoning_effort not in EFFORTS:
            raise InvalidRequestError(f"reasoning_effort must be 'low', 'medium' or 'high', not "
                                      f"{self.reasoning_effort!r}.")
        _check_number("temperature", self.temperature, low=0.0)
        _check_number("top_p", self.top_p, low=0.0, high=1.0)
        _check_number("repetition_penalty", self.repetition_penalty, low=0.0, open_low=True)
        _check_number("update_interval", self.update_interval, low=0.0)
        if self.max_tokens is not None and (isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int)
                                            or self.max_tokens < 1):
            raise InvalidRequestError(f"max_tokens must be a whole number of 1 or more, not {self.max_tokens!r}.")


NO_OPTIONS = ChatOptions()


def _check_number(name: str, value: Any, *, low: float, high: float | None = None, open_low: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}.")
    if value < low or (open_low and value == low) or (high is not None and value > high):
        bounds = f"{'above' if open_low else 'at least'} {low}" + (f" and at most {high}" if high is not None else "")
        raise InvalidRequestError(f"{name} must be {bounds}, not {value!r}.")


# --- messages --------------------------------------------------------------------------------------------------

def normalise_messages(prompt: str | Sequence[Mapping[str, Any]], system: str | None) -> list[dict[str, Any]]:
    """A str is one user message; a list is [{role, content}]; `system` becomes the first message."""
    messages: list[dict[str, Any]]
    if isinstance(prompt, str):
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, Sequence):
        messages = [_checked_message(i, m) for i, m in enumerate(prompt)]  # type: ignore[arg-type]
    else:
        raise InvalidRequestError(f"prompt must be a str or a list of {{role, content}} dicts, not {type(prompt).__name__}.")
    if not messages:
        raise InvalidRequestError("messages is empty: pass a prompt or at least one message.")
    if system is not None:
        if messages[0]["role"] == "system":
            raise InvalidRequestError("Pass the system prompt either as system= or as the first message, not both.")
        messages.insert(0, {"role": "system", "content": system})
    if any(m["role"] == "system" for m in messages[1:]):
        raise InvalidRequestError("Only one system message is allowed, and it must come first.")
    return messages


def _checked_message(index: int, message: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(message, Mapping) or "role" not in message:
        raise InvalidRequestError(f"messages[{index}] must be a dict with 'role' and 'content'.")
    if message["role"] not in ROLES:
        raise InvalidRequestError(
            f"messages[{index}] has role {message['role']!r}; use one of system, user, assistant, function."
        )
    content = message.get("content", "")
    if message["role"] in ("function", "tool") and not isinstance(content, str):
        content = _functions.result_content(content)  # a function's result may be given as an object
    elif content is None and message.get("function_call"):
        content = ""
    if not isinstance(content, str):
        raise InvalidRequestError(f"messages[{index}]['content'] must be a str.")
    checked = {**message, "content": content}
    if checked["role"] == "tool":  # the OpenAI habit; GigaChat's v1 name for a function result is "function"
        checked["role"] = "function"
    if checked["role"] == "function" and not checked.get("name"):
        raise InvalidRequestError(f"messages[{index}] is a function result: give the function's 'name'.")
    state = next((checked.pop(key) for key in STATE_KEYS if key in checked), None)
    if state is not None:
        checked["state_id"] = state  # one name here; each contract's builder spells it its own way
    return checked


STATE_KEYS = ("state_id", "functions_state_id", "tools_state_id", "tool_state_id")


# --- tools -----------------------------------------------------------------------------------------------------

# Built-in tools by our name -> their name on each contract (None: the contract lacks it).
BUILTIN_TOOLS: dict[str, dict[str, str | None]] = {
    "image_generate": {"v1": "text2image", "v2": "image_generate"},
    "web_search": {"v1": None, "v2": "web_search"},
    "url_content_extraction": {"v1": None, "v2": "url_content_extraction"},
    "code_interpreter": {"v1": None, "v2": "code_interpreter"},
}
_V2_TOOL_BODY: dict[str, dict[str, Any]] = {"web_search": {"type": "actual_info_web_search"}}


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
                other = next(v for v, name in BUILTIN_TOOLS[tool].items() if name is not None)
                raise ConfigError(f"The tool {tool!r} exists only on the {other} contract: set GIGACHAT_API_VERSION="
                                  f"{other} (or api_version={other!r}).")
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


def _apply_tools_v1(body: dict[str, Any], tools: Tools) -> None:
    if tools.functions:
        body["functions"] = list(tools.functions)
    if tools.choice == "none":
        body["function_call"] = "none"
    elif tools.choice is not None:
        name = BUILTIN_TOOLS[tools.choice]["v1"] if tools.choice in BUILTIN_TOOLS else tools.choice
        body["function_call"] = {"name": name}
    elif tools.builtins or tools.reads_documents or tools.functions:
        body["function_call"] = "auto"  # with no `functions`, the service may use its built-in ones


def _apply_tools_v2(body: dict[str, Any], tools: Tools) -> None:
    entries: list[dict[str, Any]] = [{str(BUILTIN_TOOLS[name]["v2"]): dict(_V2_TOOL_BODY.get(name, {}))}
                                     for name in tools.builtins]
    if tools.functions:
        entries.append({"functions": {"specifications": list(tools.functions)}})
    if entries:
        body["tools"] = entries
    if tools.choice == "none":
        body["tool_config"] = {"mode": "none"}
    elif tools.choice in BUILTIN_TOOLS:
        body["tool_config"] = {"mode": "forced", "tool_name": BUILTIN_TOOLS[tools.choice]["v2"]}
    elif tools.choice is not None:
        body["tool_config"] = {"mode": "forced", "function_name": tools.choice}


def _message_v1(message: dict[str, Any]) -> dict[str, Any]:
    if "state_id" not in message:
        return message
    converted = {k: v for k, v in message.items() if k != "state_id"}
    converted["functions_state_id"] = message["state_id"]
    return converted


def _message_v2(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] == "function":  # a function's result: role tool with a function_result part, as recorded
        return {"role": "tool", "content": [{"function_result": {"name": message.get("name", ""),
                                                                  "result": _result_value(message["content"])}}]}
    parts: list[dict[str, Any]] = [{"text": message["content"]}] if message["content"] or not message.get(
        "function_call") else []
    if message.get("attachments"):
        parts.append({"files": [{"id": file_id} for file_id in message["attachments"]]})
    if message.get("function_call"):
        parts.append({"function_call": message["function_call"]})
    converted = {"role": message["role"], "content": parts}
    for key, value in message.items():
        if key == "state_id":
            converted["tools_state_id"] = value
        elif key not in ("role", "content", "attachments", "function_call", "name"):
            converted[key] = value
    return converted


def _result_value(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content


# --- chat ------------------------------------------------------------------------------------------------------

def chat_call(
    base_url: str, api_version: str, model: str, messages: list[dict[str, Any]], options: ChatOptions, *, stream: bool,
    tools: Tools = NO_TOOLS,
) -> Call:
    if options != NO_OPTIONS:  # the defaults need no checking
        options.check()
    if api_version == "v2":
        body = _chat_body_v2(model, messages, options, stream)
        _apply_tools_v2(body, tools)
        url, parse = v2_chat_url(base_url), parse_chat_v2
    else:
        body = _chat_body_v1(model, messages, options, stream)
        _apply_tools_v1(body, tools)
        url, parse = base_url + "/chat/completions", parse_chat_v1
    return Call(
        "POST",
        url,
        parse,
        body=_dumps(body),
        headers=STREAM_HEADERS if stream else JSON_HEADERS,
        stream=api_version if stream else None,
        model=model,
    )


def v2_chat_url(base_url: str) -> str:
    """The v2 ("primary") contract lives beside v1: .../v1 becomes .../v2/chat/completions."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last[:1] == "v" and last[1:].isdigit():
        path = head
    return urlunsplit(parts._replace(path=path + "/v2/chat/completions"))


def _chat_body_v1(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [_message_v1(m) for m in messages], "stream": stream}
    for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "profanity_check", "update_interval"):
        value = getattr(o, name)
        if value is not None:
            body[name] = value
    if o.reasoning_effort is not None:
        body["reasoning_effort"] = o.reasoning_effort
    if o.response_schema is not None:
        body["response_format"] = {"type": "json_schema", "schema": o.response_schema, "strict": True}
    if o.extra:
        body.update(o.extra)
    return body


def _chat_body_v2(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [_message_v2(m) for m in messages], "stream": stream}
    model_options = {
        name: getattr(o, name)
        for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "update_interval")
        if getattr(o, name) is not None
    }
    if o.reasoning_effort is not None:
        model_options["reasoning"] = {"effort": o.reasoning_effort}
    if o.response_schema is not None:
        model_options["response_format"] = {"type": "json_schema", "schema": o.response_schema, "strict": True}
    if model_options:
        body["model_options"] = model_options
    if o.profanity_check is not None:
        body["disable_filter"] = not o.profanity_check
    if o.extra:
        body.update(o.extra)
    return body


def parse_chat_v1(data: Any) -> ChatResult:
    choice = data["choices"][0]
    message = choice["message"]
    text = message.get("content") or ""
    files: tuple[GeneratedFile, ...] = ()
    if "<" in text:  # only then can there be file markup to take out
        markup = MarkupFilter()
        text = markup.feed(text) + markup.flush()
        files = tuple(markup.files)
    return ChatResult(
        text=text,
        model=data.get("model", ""),
        finish_reason=choice.get("finish_reason"),
        usage=usage_v1(data.get("usage")),
        files=files,
        state_id=message.get("functions_state_id"),
        reasoning=message.get("reasoning_content") or "",
        function_call=function_call(message.get("function_call")),
    )


def parse_chat_v2(data: Any) -> ChatResult:
    messages = data.get("messages")
    marks = SourceMarks()
    return ChatResult(
        text=marks.feed(text_v2(messages)) + marks.flush(),
        model=data.get("model", ""),
        finish_reason=data.get("finish_reason"),
        usage=usage_v2(data.get("usage")),
        files=files_v2(messages),
        state_id=state_v2(messages),
        reasoning=reasoning_v2(messages),
        sources=tuple(sources_v2(messages).values()),
        function_call=function_call_v2(messages),
    )


def function_call(data: Any) -> FunctionCall | None:
    """{name, arguments} from either contract; arguments given as JSON text become a dict."""
    if not isinstance(data, Mapping) or not data.get("name"):
        return None
    arguments = data.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            arguments = {"_raw": arguments}  # kept, so the helper can tell the model its arguments were not JSON
    if not isinstance(arguments, dict):
        arguments = {"_raw": arguments}
    return FunctionCall(str(data["name"]), arguments)


def function_call_v2(messages: Any) -> FunctionCall | None:
    for message in messages or ():
        for part in message.get("content") or ():
            found = function_call(part.get("function_call"))
            if found is not None:
                return found
    return None


def reasoning_v2(messages: Any) -> str:
    """The thinking: text of messages with role reasoning (and reasoning_content, should a message carry it)."""
    parts: list[str] = []
    for message in messages or ():
        if message.get("role") == "reasoning":
            parts.extend(part["text"] for part in message.get("content") or () if "text" in part)
        elif message.get("reasoning_content"):
            parts.append(message["reasoning_content"])
    return "".join(parts)


def sources_v2(messages: Any) -> dict[str, Source]:
    """Web-search sources: inline_data.sources on text parts, {"1": {url, title}, ...}, in their number order."""
    found: dict[str, Source] = {}
    for message in messages or ():
        for part in message.get("content") or ():
            inline = part.get("inline_data") or {}
            sources = inline.get("sources") or {}
            items = sources.items() if isinstance(sources, Mapping) else enumerate(sources, 1)
            for key, item in items:
                if isinstance(item, Mapping) and item.get("url"):
                    found[str(key)] = Source(str(item.get("title") or item["url"]), str(item["url"]))
    return dict(sorted(found.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0)))


_SOURCE_MARK = re.compile(r"\[sources=\[([\d,\s]*)\]\]")
_MARK_HEAD = "[sources=["


class SourceMarks:
    """Turns the service's `[sources=[1, 2]]` citation markers into `[1][2]`, even when a stream splits one: a
    piece that may be the start of a marker is held back until it is complete."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text, self._held = self._held + text, ""
        if "[" not in text:
            return text
        text = _SOURCE_MARK.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",") if n.strip()),
                                text)
        start = len(text)
        while True:  # an unfinished marker holds back from its "[" (its number list has a "[" of its own)
            start = text.rfind("[", max(0, len(text) - 64), start)
            tail = text[start:]
            if start < 0 or "]]" in tail:
                return text
            if _MARK_HEAD.startswith(tail) or tail.startswith(_MARK_HEAD):
                self._held = tail
                return text[:start]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


def files_v2(messages: Any) -> tuple[GeneratedFile, ...]:
    """Files the answer made: `files` content parts of assistant messages."""
    found: list[GeneratedFile] = []
    for message in messages or ():
        for part in message.get("content") or ():
            for item in part.get("files") or ():
                found.append(GeneratedFile(item["id"], item.get("mime") or "image/jpeg"))
    return tuple(found)


def state_v2(messages: Any) -> str | None:
    for message in messages or ():
        state = message.get("tool_state_id") or message.get("tools_state_id")
        if state:
            return str(state)
    return None


_MARKUP = re.compile(r'<(img|video)\b[^>]*\bfuse="true"[^>]*>')
_SRC = re.compile(r'\bsrc="([^"]+)"')
_MARKUP_MIME = {"img": "image/jpeg", "video": "video/mp4"}
_MAX_HELD = 2000


class MarkupFilter:
    """Takes v1 answer text piece by piece and removes GigaChat's `<img src="ID" fuse="true"/>` markup, noting
    each file. A piece that may be the start of such a tag is held back until the tag is complete, so the
    markup is stripped even when a stream splits it; anything else passes through unchanged."""

    __slots__ = ("_held", "files")

    def __init__(self) -> None:
        self._held = ""
        self.files: list[GeneratedFile] = []

    def feed(self, text: str) -> str:
        if self._held:
            text, self._held = self._held + text, ""
        if "<" not in text:
            return text
        out: list[str] = []
        position = 0
        while True:
            start = text.find("<", position)
            if start < 0:
                out.append(text[position:])
                break
            out.append(text[position:start])
            end = text.find(">", start)
            if end < 0:
                rest = text[start:]
                if len(rest) < _MAX_HELD and _may_be_markup(rest):
                    self._held = rest
                else:
                    out.append(rest)
                break
            tag = text[start:end + 1]
            match = _MARKUP.fullmatch(tag)
            source = _SRC.search(tag) if match else None
            if match and source:
                self.files.append(GeneratedFile(source.group(1), _MARKUP_MIME[match.group(1)]))
            else:
                out.append(tag)
            position = end + 1
        return "".join(out)

    def flush(self) -> str:
        """What is still held back when the answer ends (an unfinished tag is text after all)."""
        held, self._held = self._held, ""
        return held


def _may_be_markup(rest: str) -> bool:
    name = rest[1:]
    return any(tag.startswith(name) or name.startswith(tag + " ") for tag in ("img", "video"))


def text_v2(messages: Any) -> str:
    """The answer text of v2 messages; reasoning messages and non-text parts are left out."""
    if not messages:
        return ""
    parts: list[str] = []
    for message in messages:
        if message.get("role", "assistant") == "assistant":
            parts.extend(part["text"] for part in message.get("content") or () if "text" in part)
    return "".join(parts)


def usage_v1(data: Any) -> Usage:
    if not data:
        return Usage()
    return Usage(
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
        total_tokens=data.get("total_tokens", 0),
        precached_prompt_tokens=data.get("precached_prompt_tokens", 0),
    )


def usage_v2(data: Any) -> Usage:
    if not data:
        return Usage()
    details = data.get("input_tokens_details") or {}
    return Usage(
        prompt_tokens=data.get("input_tokens", 0),
        completion_tokens=data.get("output_tokens", 0),
        total_tokens=data.get("total_tokens", 0),
        precached_prompt_tokens=details.get("cached_tokens", 0),
    )


# --- other endpoints -------------------------------------------------------------------------------------------

def models_call(base_url: str) -> Call:
    return Call("GET", base_url + "/models", _parse_models, headers=GET_HEADERS)


def _parse_models(data: Any) -> list[Model]:
    return [Model(m["id"], m.get("owned_by", ""), m.get("type", "chat")) for m in data.get("data", ())]


def count_tokens_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/tokens/count", texts, model, _parse_token_counts)


def _parse_token_counts(data: Any) -> list[TokenCount]:
    return [TokenCount(item["tokens"], item.get("characters", 0)) for item in data]


def embeddings_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/embeddings", texts, model, _parse_embeddings)


def _parse_embeddings(data: Any) -> list[list[float]]:
    return [item["embedding"] for item in sorted(data["data"], key=lambda item: item.get("index", 0))]


def _texts_call(url: str, texts: Sequence[str] | str, model: str, parse: Callable[[Any], Any]) -> Call:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items or not all(isinstance(t, str) for t in items):
        raise InvalidRequestError("texts must be a str or a non-empty list of str.")
    return Call("POST", url, parse, body=_dumps({"model": model, "input": items}), model=model)


# --- files -----------------------------------------------------------------------------------------------------

ACCEPT_JSON = MappingProxyType({"Accept": "application/json"})


def upload_call(base_url: str, filename: str, content: Any, mime_type: str, purpose: str) -> Call:
    """Multipart POST /files; `content` is bytes or an open binary file, which httpx streams in small pieces."""
    if purpose not in ("general", "assistant"):
        raise InvalidRequestError(f"purpose must be 'general' or 'assistant', not {purpose!r}.")
    return Call("POST", base_url + "/files", parse_file_info, headers=ACCEPT_JSON,
                files={"file": (filename, content, mime_type)}, form={"purpose": purpose}, upload=True)


def list_files_call(base_url: str) -> Call:
    return Call("GET", base_url + "/files", lambda data: [parse_file_info(f) for f in data.get("data", ())],
                headers=ACCEPT_JSON)


def get_file_call(base_url: str, file_id: str) -> Call:
    return Call("GET", _file_url(base_url, file_id), parse_file_info, headers=ACCEPT_JSON,
                not_found=_missing(file_id))


def delete_file_call(base_url: str, file_id: str) -> Call:
    return Call("POST", _file_url(base_url, file_id) + "/delete", lambda data: bool(data.get("deleted")),
                headers=ACCEPT_JSON, not_found=_missing(file_id))


def download_file_call(base_url: str, file_id: str) -> Call:
    # The official SDK asks for application/jpg; the service answers with the file's own type.
    return Call("GET", _file_url(base_url, file_id) + "/content", bytes, headers={"Accept": "application/jpg"},
                raw=True, not_found=_missing(file_id))


def parse_file_info(data: Any) -> FileInfo:
    return FileInfo(id=data["id"], filename=data.get("filename", ""), bytes=int(data.get("bytes", 0)),
                    purpose=data.get("purpose", "general"), created_at=int(data.get("created_at", 0)),
                    access_policy=data.get("access_policy"))


def _file_url(base_url: str, file_id: str) -> str:
    if not isinstance(file_id, str) or not file_id.strip():
        raise InvalidRequestError(f"A file id is a non-empty str (FileInfo.id), not {file_id!r}.")
    return f"{base_url}/files/{quote(file_id, safe='')}"


def _missing(file_id: str) -> str:
    return (f"No file {file_id!r} for this key: it was deleted, or another key uploaded it (files are private "
            "to the key that uploaded them). list_files() shows this key's files.")


def ai_check_call(base_url: str, text: str, model: str = "GigaCheckDetection") -> Call:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError("check_ai takes the text to check, a non-empty str.")
    return Call("POST", base_url + "/ai/check", _parse_ai_check, body=_dumps({"input": text, "model": model}),
                model=model, forbidden=(
                    "AI-text detection (/ai/check) is available only to corporate keys: use a key of scope "
                    "GIGACHAT_API_CORP (GIGACHAT_SCOPE=GIGACHAT_API_CORP), or ask your account manager to enable it."))


def _parse_ai_check(data: Any) -> AICheck:
    return AICheck(category=str(data.get("category", "")), characters=int(data.get("characters", 0)),
                   tokens=int(data.get("tokens", 0)),
                   ai_intervals=tuple((int(a), int(b)) for a, b in data.get("ai_intervals") or ()))


def balance_call(base_url: str) -> Call:
    return Call("GET", base_url + "/balance", lambda data: {b["usage"]: b["value"] for b in data.get("balance", ())},
                headers=GET_HEADERS)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps with options
# builds a new encoder on every call


def _dumps(body: Any) -> bytes:
    return _ENCODER.encode(body).encode()


# --- authentication --------------------------------------------------------------------------------------------

def oauth_request(auth_url: str, credentials: str, scope: str) -> tuple[str, dict[str, str], bytes]:
    """POST auth_url with Basic <key>, an RqUID and scope=...: the authorization-key flow."""
    headers = {
        "Authorization": f"Basic {credentials}",
        "RqUID": str(uuid.uuid4()),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    return auth_url, headers, f"scope={quote(scope)}".encode()


def password_token_url(base_url: str) -> str:
    return base_url + "/token"


def parse_oauth(data: Any) -> Token:
    """{access_token, expires_at} from /api/v2/oauth, or {tok, exp} from /token; expiry in ms or s."""
    if "access_token" in data:
        return Token.from_expiry(data["access_token"], data.get("expires_at"))
    return Token.from_expiry(data["tok"], data.get("exp"))


_OAUTH_HINTS = {
    1: "GIGACHAT_SCOPE is not valid: use GIGACHAT_API_PERS, GIGACHAT_API_B2B or GIGACHAT_API_CORP.",
    4: "GIGACHAT_CREDENTIALS could not be decoded. Paste the authorization key exactly as the Studio shows it "
       "(base64 of client_id:client_secret).",
    5: "The scope is empty: set GIGACHAT_SCOPE (PERS, B2B or CORP).",
    6: "GigaChat does not know these credentials: check GIGACHAT_CREDENTIALS, or make a new key in the Studio "
       "if it was revoked.",
    7: "The key does not belong to scope {scope}. Set GIGACHAT_SCOPE to your project's scope: PERS for "
       "individuals, B2B for prepaid business, CORP for pay-as-you-go business.",
}


def oauth_error(status: int, body: bytes, headers: Mapping[str, str], *, scope: str) -> Exception:
    """The typed error for a failed token request, with the fix for each OAuth error code."""
    data = _json_or_empty(body)
    code = data.get("code") if isinstance(data.get("code"), int) else None
    message = str(data.get("message") or data.get("error") or "").strip()
    if status == 429:
        return RateLimitError(
            "Too many token requests (429 from the OAuth host; the limit is 10 per second). Wait a moment and retry.",
            server_message=message,
            retry_after=retry_after_seconds(headers),
        )
    if status >= 500:
        return APIError(f"The OAuth host failed ({status} {message or 'server error'}). Try again shortly.",
                        status_code=status, server_message=message)
    detail = f"OAuth {status}" + (f" code {code}" if code is not None else "") + (f": {message}" if message else "")
    if code in _OAUTH_HINTS:
        hint = _OAUTH_HINTS[code].format(scope=scope)
    elif status == 400:
        hint = "The token request was malformed (a missing or invalid RqUID header). Check GIGACHAT_AUTH_URL."
    elif status in (401, 403):
        hint = _OAUTH_HINTS[6]
    else:
        hint = "Check GIGACHAT_AUTH_URL and GIGACHAT_CREDENTIALS."
    return AuthenticationError(f"Could not get an access token ({detail}). {hint}", status_code=status,
                               server_message=message, code=code)


# --- API errors ------------------------------------------------------------------------------------------------

def api_error(status: int, body: bytes, headers: Mapping[str, str], *, model: str | None = None,
              not_found: str | None = None, forbidden: str | None = None) -> APIError:
    """The typed error for an API error answer ({status, message} body), with what to do next."""
    data = _json_or_empty(body)
    message = str(data.get("message") or "").strip() or _short_text(body)
    said = f"{status} {message}".strip()
    if status == 401:
        return AuthenticationError(f"GigaChat rejected the access token ({said}).", server_message=message)
    if status == 429:
        after = retry_after_seconds(headers)
        wait = f" The server asks to wait {after:g} s." if after else ""
        return RateLimitError(
            f"GigaChat is rate limiting this key ({said}).{wait} Personal keys allow one stream at a time; "
            "retry later or lower GIGACHAT_MAX_CONNECTIONS.",
            server_message=message,
            retry_after=after,
        )
    if status == 404 and model:
        return APIError(unknown_model_message(model, said), status_code=status, server_message=message,
                        unknown_model=model)
    if status == 404 and not_found:
        hint = f"{not_found} ({said})"
    elif status == 403 and forbidden:
        hint = f"{forbidden} ({said})"
    else:
        hint = {
            400: f"GigaChat could not read the request ({said}).",
            402: f"The token balance for this model is exhausted ({said}). Top up in the Studio or use another model.",
            403: f"This key may not use that ({said}), e.g. /balance is only for prepaid keys.",
            404: f"Not found ({said}). Check GIGACHAT_BASE_URL.",
            413: f"The request is too large ({said}). Shorten the conversation or the attachments.",
            422: f"GigaChat rejected the request parameters ({said}).",
        }.get(status) or (f"GigaChat had a server error ({said}). Try again later." if status >= 500
                          else f"GigaChat answered {said}.")
    return APIError(hint, status_code=status, server_message=message)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to backoff
    return seconds if seconds >= 0 else None


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _short_text(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return "" if text.startswith("<") else text
