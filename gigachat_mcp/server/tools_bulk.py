"""`chat_many`: GigaChat as a bulk worker for an assistant (translate 200 strings, label 500 titles).

The rows run through the core's map (cache, 429 gate, per-row errors) within the same limits as `chat`: the call
is admitted as one request of the principal, holds as many of the principal's stream slots as it runs rows at
once (at least one, else it is refused like a chat), and every upstream request takes a slot of the key's stream
limiter (see bulk_run). `background: true` records the run as a conversation of the caller, read the way a
background chat is read (get_conversation, gigachat://conversations/{id}).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .. import ChatResult, MapResult
from .access import current_owner
from .bulk_run import LimitedClient, Row, cache_for, run_map
from .context import Ctx, Live, Parts, live
from .conversations import Conversation
from .errors import DRAINING
from .names import MODEL_PATTERN, conversation_uri
from .results import JSON_TYPES, UsageOut
from .state import LimitExceeded, StateUnavailable
from .tools_chat import ANSWERS

__all__ = ["MAX_ITEMS", "ManyAnswer", "register_bulk_tools"]

log = logging.getLogger("gigachat_mcp.server")
MAX_ITEMS = 500  # rows per call: a run longer than a host's patience is what background is for
MAX_PROMPT = 200_000  # characters per row's prompt, as chat's prompt

Prompt = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT)]
Value = Annotated[str, Field(max_length=MAX_PROMPT)]


class ManyItem(BaseModel):
    index: int = Field(description="The row's position in prompts or items, from 0.")
    text: str | None = Field(description="GigaChat's answer; null when this row failed (see error).")
    json_: Any = Field(default=None, alias="json", serialization_alias="json", json_schema_extra=JSON_TYPES,
                       description="With json_schema: the answer parsed as JSON and checked against the schema.")
    error: str | None = Field(default=None, description="Why this row got no answer (the others are unaffected).")


class ManyAnswer(BaseModel):
    """`chat_many`'s structured result."""

    status: Literal["done", "queued", "streaming"] = Field(description=(
        "done; or queued/streaming for background: true (read the conversation for the results)."))
    items: list[ManyItem] = Field(description="One per row, in input order (empty while running in the background).")
    total: int = Field(description="Rows asked for.")
    answered: int = Field(description="Rows with an answer (from GigaChat or from the cache of an earlier call).")
    failed: int = Field(description="Rows whose error says what went wrong.")
    usage: UsageOut = Field(description="Tokens spent, summed over the answered rows.")
    conversation_id: str | None = Field(default=None, description=(
        "With background: true, the record to read with get_conversation (its last message's json is this "
        "result when done)."))
    resource_uri: str | None = Field(default=None, description="gigachat://conversations/{id} of that record.")


def register_bulk_tools(server: MCPServer[Live], parts: Parts) -> None:
    @server.tool(title="Ask GigaChat about many items", annotations=ANSWERS)
    async def chat_many(
        ctx: Ctx,
        prompts: Annotated[list[Prompt] | None, Field(min_length=1, max_length=MAX_ITEMS, description=(
            f"The prompts, one answer each (at most {MAX_ITEMS}). Or pass template and items instead."))] = None,
        template: Annotated[str | None, Field(min_length=1, max_length=MAX_PROMPT, description=(
            "One prompt for every item: {} is replaced by a string item, {field} by an object item's field "
            "(write literal braces as {{ and }})."))] = None,
        items: Annotated[list[Value | dict[str, Any]] | None, Field(min_length=1, max_length=MAX_ITEMS, description=(
            f"What fills the template, one answer each (at most {MAX_ITEMS}): strings, or objects whose fields "
            "the template names."))] = None,
        system: Annotated[str | None, Field(max_length=20_000, description=(
            "Optional system prompt for every row (role, format, e.g. 'Translate into English; answer with the "
            "translation only')."))] = None,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN, description=(
            "Model id, e.g. GigaChat-2, GigaChat-2-Pro; see list_models. Default: the server's GIGACHAT_MODEL."))]
        = None,
        json_schema: Annotated[dict[str, Any] | None, Field(description=(
            "A JSON Schema every answer must fit (labels, extracted fields); each item's json is the parsed "
            "object."))] = None,
        background: Annotated[bool, Field(description=(
            "Return at once and keep answering into a conversation record: use it for runs longer than your "
            "tool-call timeout (a personal key answers one row at a time, a few seconds each)."))] = False,
    ) -> Annotated[CallToolResult, ManyAnswer]:
        """Ask GigaChat the same kind of question about many items at once (translate 200 strings, label 500
        titles): pass prompts, or a template with items. At most 500 items per call. Answers come back in input
        order; a row that fails carries its error and the others still answer. Progress is reported as k/N. Rows
        already answered by an earlier identical call are not paid for again. For long runs pass background:
        true and read the result with get_conversation."""
        rows = _rows(prompts, template, items)
        state = live(ctx)
        runner = state.require()
        owner = current_owner()
        chosen = model or runner.client.settings.model
        options: dict[str, Any] = {"model": chosen, "system": system, "response_format": json_schema}
        options = {name: value for name, value in options.items() if value is not None}
        async with AsyncExitStack() as held:
            width = await _admit(parts, held, owner, min(runner.max_streams, len(rows)))
            client = LimitedClient(runner.client.settings, limiter=runner.limiter,
                                   shared_tokens=state.state.shared_tokens)
            held.push_async_callback(client.aclose)
            run = _Run(client, rows, width, cache_for(owner), options)
            if background:
                conversation = await _record(parts, owner, system, chosen, prompts, template)
                assert state.tasks is not None
                state.tasks.start_soon(_in_background, run, conversation, parts, held.pop_all())
                return _queued(conversation, len(rows))

            async def counts(done: int, total: int, failed: int) -> None:
                message = f"{done}/{total}" + (f" ({failed} failed)" if failed else "")
                await ctx.report_progress(done, total, message)

            with parts.shared.answering():
                result = await run.go(counts)
            return _result(result, json_schema is not None)


class _Run:
    """What a run needs, made while the call is admitted and run now or in the background."""

    def __init__(self, client: LimitedClient, rows: list[Row], width: int, cache: Any,
                 options: dict[str, Any]) -> None:
        self.client, self.rows, self.width, self.cache, self.options = client, rows, width, cache, options

    async def go(self, counts: Any = None) -> MapResult:
        return await run_map(self.client, self.rows, concurrency=self.width, cache=self.cache, options=self.options,
                             counts=counts)


def _rows(prompts: list[str] | None, template: str | None, items: list[Any] | None) -> list[Row]:
    """The rows' prompts, templates filled; a tool error of one sentence for arguments that cannot make them."""
    if prompts is not None and (template is not None or items is not None):
        raise ToolError("Pass either prompts (a list of prompts) or template with items, not both.")
    if prompts is not None:
        return [Row(prompt, index) for index, prompt in enumerate(prompts)]
    if template is None or items is None:
        raise ToolError("Pass prompts (a list of prompts), or template with items (strings for {}, objects for "
                        "{field}); " + ("items is missing." if items is None and template is not None else
                                        "template is missing." if template is None and items is not None else
                                        "none was given."))
    _check_template(template)
    rows = []
    for index, item in enumerate(items):
        text = _fill(template, item, index)
        if len(text) > MAX_PROMPT:
            raise ToolError(f"item {index} makes a prompt of {len(text):,} characters; at most {MAX_PROMPT:,} "
                            "are allowed per row: shorten the item or the template.")
        rows.append(Row(text, index))
    return rows


def _fill(template: str, item: Any, index: int) -> str:
    """The template filled as str.format does (the core's map fills templates the same way)."""
    try:
        return template.format_map(item) if isinstance(item, Mapping) else template.format(item)
    except KeyError as exc:
        if isinstance(item, Mapping):
            have = ", ".join(map(str, list(item)[:20])) or "none"
            raise ToolError(f"item {index} has no field {exc}, which the template names; its fields: {have}.") \
                from None
        raise ToolError(f"item {index} is a string, so the template can use only {{}}, not {{{exc.args[0]}}}; "
                        "pass objects as items to fill named fields.") from None
    except (IndexError, AttributeError, ValueError, TypeError) as exc:
        if isinstance(item, Mapping) and isinstance(exc, IndexError):
            raise ToolError(f"item {index} is an object: name its fields in the template ({{field}}), not {{}}.") \
                from None
        if isinstance(exc, IndexError):
            raise ToolError(f"item {index} is one string, so the template can hold only one {{}} (write {{0}} to "
                            "repeat it; pass objects as items to fill several fields).") from None
        raise ToolError(f"item {index} does not fill the template ({exc}).") from None


def _check_template(template: str) -> None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ToolError(f"The template is not a valid format string ({exc}); write literal braces as {{{{ and "
                        "}}.") from None
    if not fields:
        raise ToolError("The template has no {} or {field} placeholder, so every item would send the same prompt; "
                        "put {} (string items) or {field} (object items) where each item goes.")


async def _admit(parts: Parts, held: AsyncExitStack, owner: str | None, wanted: int) -> int:
    """Admit the call as one request of the principal and hold up to `wanted` of its stream slots (at least one,
    else the principal's limit is the tool error); returns how many rows may run at once."""
    shared = parts.shared
    if shared.draining:
        raise ToolError(DRAINING)
    if shared.quotas is None:
        return wanted
    try:
        await shared.quotas.admit(owner or "")
        await held.enter_async_context(shared.quotas.stream(owner or ""))
        taken = 1
        while taken < wanted:
            try:
                await held.enter_async_context(shared.quotas.stream(owner or ""))
            except LimitExceeded:
                break
            taken += 1
        return taken
    except (LimitExceeded, StateUnavailable) as exc:
        raise ToolError(str(exc)) from None


async def _record(parts: Parts, owner: str | None, system: str | None, model: str, prompts: list[str] | None,
                  template: str | None) -> Conversation:
    """A conversation of the caller that holds the run: queued now, streaming with each answered row."""
    count = f"{len(prompts)} prompts" if prompts is not None else "a template"
    head = (prompts[0] if prompts else template) or ""
    summary = f"chat_many over {count}: {head[:200]}" + ("…" if len(head) > 200 else "")
    try:
        conversation = await parts.store.create(system, owner)
        await parts.store.begin(conversation, summary, model)
    except (LimitExceeded, StateUnavailable) as exc:
        raise ToolError(str(exc)) from None
    await parts.updates.publish(conversation)
    return conversation


async def _in_background(run: _Run, conversation: Conversation, parts: Parts, held: AsyncExitStack) -> None:
    """Runs in the server's task group: each answered row is appended to the record as it arrives; the whole result
    is its last message's json. A failure is recorded there, never raised into the group."""

    async def on_row(index: int, outcome: ChatResult | BaseException) -> None:
        conversation.status = "streaming"
        shown = outcome.text if isinstance(outcome, ChatResult) else f"error: {outcome}"
        conversation.append(f"[{index}] {shown}\n")
        await parts.updates.publish(conversation)

    run.client.on_row = on_row
    with parts.shared.answering():
        try:
            async with held:  # the principal's stream slots and the client, taken when the call was accepted
                conversation.status = "streaming"
                await parts.updates.publish(conversation)
                result = await run.go()
            answer = _answer(result, "response_format" in run.options)
            conversation.finish("done", usage=answer.usage.model_dump(),
                                extras={"json": answer.model_dump(mode="json", by_alias=True)})
        except Exception as exc:  # noqa: BLE001 - the server must live on; the record says what happened
            log.warning("background chat_many %s failed", conversation.id, exc_info=True)
            conversation.finish("error", error=f"The run stopped: {exc}")
        except BaseException:
            conversation.finish("cancelled", error="The server stopped before the run finished; call chat_many "
                                                   "again: the rows already answered are not paid for twice.")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await parts.updates.publish(conversation)


def _answer(result: MapResult, parsed: bool) -> ManyAnswer:
    items = [ManyItem(index=index, text=item.text, json=item.parsed if parsed else None)
             if isinstance(item, ChatResult) else
             ManyItem(index=index, text=None, error=str(item.exception) or type(item.exception).__name__)
             for index, item in enumerate(result)]
    usage = result.usage
    failed = len(result.errors)
    return ManyAnswer(status="done", items=items, total=len(items), answered=len(items) - failed, failed=failed,
                      usage=UsageOut(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                                     total_tokens=usage.total_tokens,
                                     precached_prompt_tokens=usage.precached_prompt_tokens))


def _result(result: MapResult, parsed: bool) -> CallToolResult:
    answer = _answer(result, parsed)
    lines = [f"{answer.total} items: {answer.answered} answered, {answer.failed} failed."]
    lines += [f"[{item.index}] {item.text}" if item.error is None else f"[{item.index}] error: {item.error}"
              for item in answer.items]
    return CallToolResult(content=[TextContent(type="text", text="\n".join(lines))],
                          structured_content=answer.model_dump(mode="json", by_alias=True))


def _queued(conversation: Conversation, total: int) -> CallToolResult:
    uri = conversation_uri(conversation.id)
    answer = ManyAnswer(status="queued", items=[], total=total, answered=0, failed=0, usage=UsageOut(),
                        conversation_id=conversation.id, resource_uri=uri)
    text = (f"GigaChat is answering the items in the background. Call get_conversation with conversation_id="
            f"{conversation.id!r} and wait_seconds (or read {uri}): each answered row appears as it arrives, and "
            "when its status is done the last message's json holds every item in order.")
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=answer.model_dump(mode="json", by_alias=True))
