"""The tools that ask GigaChat for an answer, `chat` and `generate_image`, and how a turn is admitted and run:
a draining server refuses it, the principal's limits count it, its conversation is locked while it streams, and a
GigaChat failure becomes a tool error that says what to do."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from .. import GigaChatError, chat_options
from .access import current_owner, known
from .attachments import InlineFile, prepare_attachments, upload
from .context import Ctx, Live, Parts, live
from .conversations import Conversation
from .errors import BUSY, DRAINING, explain
from .names import FILE_ID, ID_PATTERN, MODEL_PATTERN, conversation_uri
from .results import ChatAnswer, answer_result, with_images, with_sources
from .state import ConversationBusy, LimitExceeded, StateUnavailable, UnknownFile
from .turns import Publish, TurnRunner

__all__ = ["register_chat_tools"]

log = logging.getLogger("gigachat_mcp.server")
ANSWERS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
DRAWS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)


def register_chat_tools(server: MCPServer[Live], parts: Parts) -> None:
    """`chat` (an answer, streamed as progress; optionally in the background) and `generate_image`."""
    _add_chat(server, parts)
    _add_generate_image(server, parts)


def _add_chat(server: MCPServer[Live], parts: Parts) -> None:
    @server.tool(title="Ask GigaChat", annotations=ANSWERS)
    async def chat(
        prompt: Annotated[str, Field(min_length=1, max_length=200_000,
                                     description="What to ask GigaChat. Russian and English both work well.")],
        ctx: Ctx,
        system: Annotated[str | None, Field(max_length=20_000, description=(
            "Optional system prompt (role, tone, format). Kept for later turns of the same conversation."))] = None,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN, description=(
            "Model id, e.g. GigaChat-2, GigaChat-2-Pro, GigaChat-2-Max; see list_models. Default: the "
            "server's GIGACHAT_MODEL."))] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2, allow_inf_nan=False, description=(
            "Sampling temperature; lower is more focused. Default: the model's."))] = None,
        max_tokens: Annotated[int | None, Field(ge=1, le=32_768, description="Upper bound on answer length.")] = None,
        conversation_id: Annotated[str | None, Field(pattern=ID_PATTERN, description=(
            "Continue this conversation (from an earlier result). Omit to start a new one."))] = None,
        background: Annotated[bool, Field(description=(
            "Return at once and keep streaming into the conversation resource; use for long answers."))] = False,
        attachments: Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]] | None, Field(
            max_length=10, description=(
                "Files for GigaChat to look at or read (images: jpg, png, tiff, bmp; documents: txt, pdf, docx, …; "
                "audio): file ids from earlier results, or paths of files on the server's disk. Over stdio a path "
                "may be under the user's roots or GIGACHAT_MCP_FILE_ROOTS; over HTTP only under the server's "
                "GIGACHAT_MCP_FILE_ROOTS (a remote client's roots are never read): send your own files in "
                "inline_attachments. GigaChat-2-Pro and -Max see images; one image per message."))] = None,
        inline_attachments: Annotated[list[InlineFile] | None, Field(max_length=10, description=(
            "Files sent with the call, as {name, data (base64), mime_type?}: the way to attach a file from the "
            "client's machine, on any transport. Same types and limits as attachments (images 15 MB, documents "
            "40 MB, audio 35 MB; at most 10 files with attachments); over HTTP the whole request is limited to 4 "
            "MB, so about 3 MB of files per call."))] = None,
        reasoning_effort: Annotated[Literal["low", "medium", "high"] | None, Field(description=(
            "Let GigaChat think before answering (maths, logic, planning, tricky code); its thinking streams as "
            "progress marked [thinking] and comes back in `reasoning`, apart from the answer. Slower; omit for "
            "simple questions."))] = None,
        web_search: Annotated[bool, Field(description=(
            "Let GigaChat search the web first: use for recent facts (news, prices, schedules, anything after "
            "its training). The pages it used come back in `sources` and as links."))] = False,
        json_schema: Annotated[dict[str, Any] | None, Field(description=(
            "A JSON Schema the answer must fit, when you need fields rather than prose (extraction, "
            "classification, lists of items). The parsed object comes back in `json`."))] = None,
    ) -> Annotated[CallToolResult, ChatAnswer]:
        """Ask GigaChat and get its answer; the answer streams as progress while it is written. GigaChat draws
        when asked to (the image comes back as image content)."""
        state = live(ctx)
        runner = state.require()
        owner = current_owner()
        await _check_file_ids(parts, owner, attachments)
        ready = await prepare_attachments(ctx, runner.client.settings, attachments, inline_attachments,
                                          parts.trust_client_roots)
        chosen = model or runner.client.settings.model
        async with AsyncExitStack() as held:
            conversation, messages = await begin_turn(parts, held, owner, conversation_id, system, prompt, chosen,
                                                      (lambda: upload(runner.client, ready)) if ready else None)
            options = {"model": chosen, "temperature": temperature, "max_tokens": max_tokens,
                       **chat_options(think=reasoning_effort, web=web_search, schema=json_schema,
                                      draw=runner.client.settings.image_generation)}
            uri = conversation_uri(conversation.id)
            if background:
                assert state.tasks is not None
                state.tasks.start_soon(_background_turn, runner, conversation, messages, options, parts,
                                       held.pop_all())
                await parts.updates.publish(conversation)
                return answer_result(conversation, uri, status="streaming")

            async def progress(value: float, message: str) -> None:
                await ctx.report_progress(value, None, message)

            await run_turn(parts, state, conversation, messages, options, progress)
            status: Literal["done", "cancelled"] = "cancelled" if conversation.status == "cancelled" else "done"
            return with_sources(await with_images(answer_result(conversation, uri, status=status), runner))


def _add_generate_image(server: MCPServer[Live], parts: Parts) -> None:
    @server.tool(title="Draw with GigaChat", annotations=DRAWS)
    async def generate_image(
        prompt: Annotated[str, Field(min_length=1, max_length=5_000, description=(
            "What to draw, e.g. 'a red cat on a windowsill, watercolour'."))],
        ctx: Ctx,
        style: Annotated[str | None, Field(max_length=1_000, description=(
            "Optional style for the picture (e.g. 'pixel art', 'в стиле Левитана'); sent as the system prompt."))]
        = None,
        conversation_id: Annotated[str | None, Field(pattern=ID_PATTERN, description=(
            "Continue this conversation, so 'make it bluer' refers to the last picture."))] = None,
    ) -> Annotated[CallToolResult, ChatAnswer]:
        """Have GigaChat (Kandinsky) draw a picture; returns the image and a conversation_id to refine it."""
        state = live(ctx)
        runner = state.require()
        system = f"Рисуй в стиле: {style}. Draw in this style: {style}." if style else None
        chosen = runner.client.settings.model
        async with AsyncExitStack() as held:
            conversation, messages = await begin_turn(parts, held, current_owner(), conversation_id, system, prompt,
                                                      chosen)
            options = {"model": chosen, "tools": ["image_generate"], "tool_choice": "image_generate"}
            uri = conversation_uri(conversation.id)
            await run_turn(parts, state, conversation, messages, options, None)
        return await with_images(answer_result(conversation, uri, status="done"), runner)


async def begin_turn(parts: Parts, held: AsyncExitStack, owner: str | None, conversation_id: str | None,
                     system: str | None, prompt: str, model: str,
                     attachments: Callable[[], Awaitable[list[str]]] | None = None,
                     ) -> tuple[Conversation, list[dict[str, Any]]]:
    """Admit a turn (draining, the principal's limits), upload its attachments, and start it in its
    conversation; the principal's stream is held in `held` for as long as the caller keeps it."""
    shared, store = parts.shared, parts.store
    try:
        if shared.draining:
            raise ToolError(DRAINING)
        if shared.quotas is not None:
            await shared.quotas.admit(owner or "")
            await held.enter_async_context(shared.quotas.stream(owner or ""))
        file_ids = await attachments() if attachments is not None else None  # admitted: now upload
        await shared.give_files(owner, file_ids or [])  # the uploaded content is the caller's from now on
        conversation = await _conversation(parts, conversation_id, system, owner)
        return conversation, await store.begin(conversation, prompt, model, file_ids)
    except ConversationBusy as exc:
        raise ToolError(BUSY.format(exc.args[0])) from None
    except (GigaChatError, LimitExceeded, StateUnavailable) as exc:  # their text says what to do
        raise ToolError(str(exc)) from None


async def _check_file_ids(parts: Parts, owner: str | None, requested: list[str] | None) -> None:
    """With auth, every file id attached must be one the caller's turns made; another's is refused in the same
    words as an id that does not exist."""
    try:
        for item in requested or ():
            if FILE_ID.match(item):
                await parts.shared.check_file(owner, item)
    except (UnknownFile, StateUnavailable) as exc:
        raise ToolError(str(exc)) from None


async def _conversation(parts: Parts, conversation_id: str | None, system: str | None,
                        owner: str | None) -> Conversation:
    if conversation_id is None:
        return await parts.store.create(system, owner)
    conversation = await known(parts.store, conversation_id, owner)
    if conversation.busy:
        raise ConversationBusy(conversation_id)
    if system is not None:
        conversation.system = system
    return conversation


async def run_turn(parts: Parts, state: Live, conversation: Conversation, messages: list[dict[str, Any]],
                   options: dict[str, Any], progress: Any) -> None:
    """Stream the answer (counted as in flight, for a draining server); a GigaChat failure is a tool error
    saying what to do."""
    runner = state.require()
    with parts.shared.answering():
        try:
            await runner.run(conversation, messages, options, progress, parts.updates.publish)
        except GigaChatError as exc:
            uri = conversation_uri(conversation.id)
            raise ToolError(await explain(exc, state, runner, uri, options["model"])) from None


async def _background_turn(runner: TurnRunner, conversation: Conversation, messages: list[dict[str, Any]],
                           options: dict[str, Any], parts: Parts, held: AsyncExitStack) -> None:
    """Runs in the server's task group: any failure is recorded in the conversation, never raised into the group."""
    publish: Publish = parts.updates.publish
    with parts.shared.answering():
        try:
            async with held:  # the principal's stream, taken when the call was accepted
                await runner.run(conversation, messages, options, None, publish)
        except GigaChatError as exc:
            log.warning("background answer for %s failed: %s", conversation.id, exc)
        except Exception:  # noqa: BLE001 - already logged and recorded by the runner; the server must live on
            pass
