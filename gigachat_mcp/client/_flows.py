"""The logic both clients run, written once: chat requests, attaching and uploading once, files, tool rounds.

A flow is a generator that yields operations (send this Call, hash this content, run this function, ...) and
receives their results, the way httpx's `Auth.auth_flow` serves both of its clients. Each driver (`_sync`,
`_async`) steps the flow through and performs the operations its own way: blocking, or awaited. An error of an
operation is thrown into the flow at the `yield`, so the flow can answer it (a function's error goes back to
the model) or release what it holds.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar, Union

from . import _attachments, _functions, _structured, _wire
from ._attachments import Local
from ._errors import InvalidRequestError
from ._settings import Settings
from ._types import ChatResult, FileInfo, FunctionCall

__all__ = ["Ask", "ContentKey", "FileBook", "Flow", "Hold", "Invoke", "Op", "Send", "Turn", "answer", "contract",
           "delete_file", "finished", "get_file", "list_files", "prepared", "refusal", "result_message", "rounds", "run_tools", "turn", "upload"]

log = logging.getLogger("gigachat_mcp")
T = TypeVar("T")


# --- operations: what a flow asks its driver to do -------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Send the Call; the result is its parsed answer."""

    call: _wire.Call


@dataclasses.dataclass(frozen=True, slots=True)
class Ask:
    """A whole chat() of the same client (attachments and all); the result is its ChatResult."""

    messages: list[dict[str, Any]]
    options: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Invoke:
    """Run a caller's function; the result is its value (the async driver awaits or threads it)."""

    function: Callable[..., Any]
    arguments: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ContentKey:
    """Hash local content (`_attachments.content_key`); the async driver does it in a worker thread."""

    local: Local


@dataclasses.dataclass(frozen=True, slots=True)
class Hold:
    """Acquire the upload lock of a content key; the result is the lock, which the flow releases."""

    key: str


Op = Union[Send, Ask, Invoke, ContentKey, Hold]
Flow = Generator[Op, Any, T]


def finished(flow: Flow[T]) -> T:
    """The value of a flow that needs no operation (a chat request with nothing to upload), got at once."""
    try:
        op = next(flow)
    except StopIteration as done:
        return done.value
    flow.close()
    raise RuntimeError(f"This flow needs {type(op).__name__}: run it through a client.")


# --- chat requests ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Turn:
    """A chat request before its attachments are resolved: messages, attachments per message, tools."""

    messages: list[dict[str, Any]]
    groups: list[list[_attachments.Item]]
    tools: _wire.Tools
    fmt: _structured.ResponseFormat | None = None
    api_version: str = "v1"  # the contract it goes on: the configured one, or the one its tools need


def turn(settings: Settings, prompt: Any, system: str | None, attachments: Any, tools: Sequence[Any] | None,
         tool_choice: str | None, response_format: Any = None) -> Turn:
    """Everything about a chat request that needs no network, checked before anything is sent."""
    messages = _wire.normalise_messages(prompt, system)
    version = contract(settings, tools)
    if tools is None and tool_choice is None:  # the common plain chat skips the checks of what it lacks
        toolset = _wire.NO_TOOLS
    else:
        toolset = _wire.normalise_tools(tools, tool_choice, version)
    fmt = None if response_format is None else _structured.normalise(response_format)
    return Turn(messages, _attachments.gather(messages, attachments), toolset, fmt, version)


def contract(settings: Settings, tools: Sequence[Any] | None) -> str:
    """The configured contract, or (when the user did not pin one) the one the request's built-in tools need."""
    version = _wire.contract_for(tools, settings.api_version, settings.pinned("api_version"))
    if version != settings.api_version:
        log.debug("this request goes on the %s contract: a tool it asks for exists only there", version)
    return version


def prepared(settings: Settings, files: FileBook, turn: Turn, stream: bool, model: str | None,
             options: _wire.ChatOptions) -> Flow[_wire.Call]:
    """The chat Call, once the attachments are looked up and uploaded."""
    infos = yield from _attach(settings.base_url, files, turn.groups)
    if options.profanity_check is None and settings.profanity_check is not None:
        options = dataclasses.replace(options, profanity_check=settings.profanity_check)
    tools = turn.tools
    if turn.fmt is not None:
        options = dataclasses.replace(options, response_schema=turn.fmt.schema)
    if _attachments.ids_into(turn.messages, infos):
        tools = dataclasses.replace(tools, reads_documents=True)
    return _wire.chat_call(settings.base_url, turn.api_version, model or settings.model, turn.messages, options,
                           stream=stream, tools=tools)


def answer(settings: Settings, files: FileBook, turn: Turn, model: str | None,
           options: _wire.ChatOptions) -> Flow[ChatResult]:
    """A whole answer, with `.parsed` when a response format was asked for."""
    call = yield from prepared(settings, files, turn, False, model, options)
    return _structured.with_parsed((yield Send(call)), turn.fmt)


# --- files -----------------------------------------------------------------------------------------------------

class FileBook:
    """What one client knows of stored files, so that it uploads the same content only once."""

    def __init__(self) -> None:
        self.uploaded: dict[str, FileInfo] = {}  # content key -> the upload of that content
        self.known: dict[str, FileInfo] = {}  # file id -> what the service said about it
        self.locks: dict[str, Any] = {}  # content key -> the lock its one upload is made under (the driver's kind)

    def remember(self, info: FileInfo) -> FileInfo:
        self.known[info.id] = info
        return info

    def forget(self, file_id: str) -> None:
        self.known.pop(file_id, None)
        for key in [key for key, info in self.uploaded.items() if info.id == file_id]:
            del self.uploaded[key]


def upload(base_url: str, files: FileBook, local: Local, file: Any, purpose: str) -> Flow[FileInfo]:
    """Upload `local`: streamed from disk when it has a path, else its bytes (or the open binary `file`)."""
    if local.path is not None:
        with _attachments.open_local(local) as handle:
            info = yield Send(_wire.upload_call(base_url, local.filename, handle, local.mime, purpose))
    else:
        content = local.data if local.data is not None else file
        info = yield Send(_wire.upload_call(base_url, local.filename, content, local.mime, purpose))
    return files.remember(info)


def list_files(base_url: str, files: FileBook) -> Flow[list[FileInfo]]:
    infos = yield Send(_wire.list_files_call(base_url))
    return [files.remember(info) for info in infos]


def get_file(base_url: str, files: FileBook, file_id: str) -> Flow[FileInfo]:
    return files.remember((yield Send(_wire.get_file_call(base_url, file_id))))


def delete_file(base_url: str, files: FileBook, file_id: str) -> Flow[bool]:
    deleted = yield Send(_wire.delete_file_call(base_url, file_id))
    files.forget(file_id)
    return bool(deleted)


def attach(base_url: str, files: FileBook, items: Sequence[Any]) -> Flow[list[FileInfo]]:
    """One message's attachments as stored files: ids looked up, rules checked, new content uploaded once."""
    groups = [[_attachments.classify(item) for item in items]]
    return (yield from _attach(base_url, files, groups))[0]


def _attach(base_url: str, files: FileBook, groups: list[list[_attachments.Item]]) -> Flow[list[list[FileInfo]]]:
    """Look up bare ids, check the image rules, then upload what is new: nothing is sent before the check."""
    if not any(groups):
        return [[] for _ in groups]
    for group in groups:
        for index, item in enumerate(group):
            if isinstance(item, str):
                group[index] = files.known.get(item) or (yield from get_file(base_url, files, item))
    _attachments.check_rules(groups)  # type: ignore[arg-type]
    resolved: list[list[FileInfo]] = []
    for group in groups:
        infos: list[FileInfo] = []
        for item in group:
            infos.append((yield from _upload_once(base_url, files, item)) if isinstance(item, Local) else item)  # type: ignore[arg-type]
        resolved.append(infos)
    return resolved


def _upload_once(base_url: str, files: FileBook, local: Local) -> Flow[FileInfo]:
    key = yield ContentKey(local)
    guard = yield Hold(key)
    try:  # callers attaching the same content wait for one upload instead of making their own
        info = files.uploaded.get(key)
        if info is None:
            info = yield from upload(base_url, files, local, local.data, "general")
            files.uploaded[key] = info
    finally:
        guard.release()
    return info


# --- tool rounds -----------------------------------------------------------------------------------------------

def rounds(settings: Settings, prompt: Any, system: str | None, tools: Sequence[Any], max_rounds: int,
           options: Mapping[str, Any]) -> tuple[list[dict[str, Any]], _wire.Tools]:
    """run_tools' checks before anything is sent: the conversation so far and the tools."""
    if "attachments" in options or "tool_choice" in options:
        raise InvalidRequestError("run_tools takes neither attachments= nor tool_choice=: upload files with "
                                  "upload_file() and put their ids in a message's 'attachments'.")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise InvalidRequestError(f"max_rounds must be 1 or more, not {max_rounds!r}.")
    toolset = _wire.normalise_tools(tools, None, contract(settings, tools))
    if not toolset.callables:
        raise InvalidRequestError("run_tools needs Python functions in tools= to run (specs alone go to chat()).")
    return _wire.normalise_messages(prompt, system), toolset


def run_tools(messages: list[dict[str, Any]], toolset: _wire.Tools, tools: Sequence[Any], max_rounds: int,
              options: Mapping[str, Any]) -> Flow[ChatResult]:
    """Chat, running the functions GigaChat asks for, until it answers in words or the rounds run out."""
    for _ in range(max_rounds):
        result = yield Ask(messages, {"tools": tools, **options})
        call = result.function_call
        if call is None:
            return result
        reply = refusal(toolset, call)
        if reply is None:
            try:
                reply = result_message(call, value=(yield Invoke(toolset.callables[call.name], call.arguments)))
            except Exception as exc:  # noqa: BLE001 - told to the model, as the API expects
                reply = result_message(call, error=exc)
        messages = [*messages, result.message, reply]
    return (yield Ask(messages, {"tools": tools, "tool_choice": "none", **options}))


def refusal(tools: _wire.Tools, call: FunctionCall) -> dict[str, Any] | None:
    """None when the call can run (`tools.callables[call.name]`), else the function-result message that tells
    GigaChat why not: it named no callable we hold, or sent arguments that are not a JSON object."""
    if call.name not in tools.callables:
        known = ", ".join(tools.callables) or "none"
        return _message(call, _functions.error_result(call.name, LookupError(
            f"there is no function {call.name!r} to run; the functions are: {known}")))
    if "_raw" in call.arguments:
        return _message(call, _functions.error_result(call.name, ValueError("the arguments were not a JSON object")))
    return None


def result_message(call: FunctionCall, *, value: Any = None, error: BaseException | None = None) -> dict[str, Any]:
    """The message carrying a function's value (or its failure, logged at debug) back to GigaChat."""
    if error is None:
        return _message(call, _functions.result_content(value))
    log.debug("function %s failed", call.name, exc_info=error)
    return _message(call, _functions.error_result(call.name, error))


def _message(call: FunctionCall, content: str) -> dict[str, Any]:
    """A function-result message of the next request (v1 role function; the wire makes it v2 role tool)."""
    return {"role": "function", "name": call.name, "content": content}
