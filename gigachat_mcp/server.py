"""The MCP server: a streaming `chat` tool, conversations as live resources, and the tools around them.

`build_server()` returns the MCPServer, so tests connect to it in memory; `gigachat-mcp` serves it over stdio
(or streamable HTTP). The answer streams twice: as progress notifications on the tool call (what hosts show)
and into `gigachat://conversations/{id}`, whose subscribers hear about every change (both protocol eras).
Failures are tool errors whose text says what to do; nothing a tool does can end the server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

import anyio
import anyio.abc
from mcp.server import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp.types import (
    CallToolResult,
    EmptyResult,
    SubscribeRequestParams,
    TextContent,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel, Field

from . import APIError, ConfigError, GigaChatError, Settings, StreamError, __version__
from ._conversations import Conversation, ConversationStore, UnknownConversation
from ._turns import TurnRunner

__all__ = ["build_server"]

log = logging.getLogger("gigachat_mcp.server")

CONVERSATION_URI = "gigachat://conversations/{conversation_id}"
MODELS_URI = "gigachat://models"
INSTRUCTIONS = """\
This server asks Sber's GigaChat, a Russian-language-first LLM, and returns its answer.
Use `chat` for a second opinion, for Russian text, or when the user asks for GigaChat by name. Pass the
returned `conversation_id` back to continue the same conversation (the system prompt is kept). The answer
streams as progress notifications; for long answers pass `background: true`, then read the resource
`gigachat://conversations/{id}` or call `get_conversation` with `wait_seconds`. `list_models` names the models.
"""


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    precached_prompt_tokens: int = 0


class ChatAnswer(BaseModel):
    """The `chat` tool's structured result."""

    text: str = Field(description="The answer (empty while a background answer is still streaming).")
    conversation_id: str = Field(description="Pass it back as conversation_id to continue this conversation.")
    model: str | None = Field(description="The model that answered, with its version.")
    finish_reason: str | None = Field(description="stop, length (hit max_tokens), blacklist, … or null.")
    usage: UsageOut | None = Field(description="Tokens spent on this turn.")
    resource_uri: str = Field(description="Live transcript of the conversation, answer in flight included.")
    status: str = Field(description="done, or streaming for background answers.")


class ModelInfo(BaseModel):
    id: str
    type: str


class ModelList(BaseModel):
    models: list[ModelInfo]
    default: str


class TokenCountOut(BaseModel):
    tokens: list[int]
    characters: list[int]


@dataclass
class _Live:
    """What lives as long as the server runs: the client, the turn runner, the background task group."""

    settings: Settings | None
    config_error: ConfigError | None
    progress_interval: float
    progress_tail: int
    runner: TurnRunner | None = None
    tasks: anyio.abc.TaskGroup | None = None
    models: list[str] = field(default_factory=list)

    def require(self) -> TurnRunner:
        """The turn runner, made on first use: the client (and httpx) load with the first call, not at start-up."""
        if self.runner is None:
            if self.settings is None:
                raise ToolError(str(self.config_error))
            from . import AsyncGigaChat

            s = self.settings
            streams = s.max_connections or (1 if s.scope == "GIGACHAT_API_PERS" else 10)
            self.runner = TurnRunner(AsyncGigaChat(s), max_streams=streams, interval=self.progress_interval,
                                     tail=self.progress_tail)
        return self.runner


def build_server(
    settings: Settings | None = None,
    *,
    max_conversations: int = 100,
    max_messages: int = 40,
    progress_interval: float = 0.1,
    progress_tail: int = 2000,
    conversations: ConversationStore | None = None,
) -> MCPServer:
    """The GigaChat MCP server. Settings come from GIGACHAT_* unless given; a bad setting is reported by the
    tools (naming the variable), so the server still starts and the host can show the error. Pass
    `conversations` to look at (or share) the store; otherwise one is made with the two caps."""
    config_error: ConfigError | None = None
    if settings is None:
        try:
            settings = Settings.resolve()
        except ConfigError as exc:
            config_error = exc
    store = conversations if conversations is not None else ConversationStore(max_conversations, max_messages)
    running: list[_Live] = []  # the live state while the server runs, for the static resource (it gets no ctx)
    bus = InMemorySubscriptionBus()
    legacy_subscribers: dict[str, set[Any]] = {}

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[_Live]:
        live = _Live(settings, config_error, progress_interval, progress_tail)
        async with anyio.create_task_group() as tasks:
            live.tasks = tasks
            running.append(live)
            try:
                yield live
            finally:
                running.remove(live)
                tasks.cancel_scope.cancel()
                if live.runner is not None:
                    with anyio.CancelScope(shield=True):
                        await live.runner.client.aclose()

    server = MCPServer(
        "gigachat",
        title="GigaChat",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        subscriptions=bus,
        log_level=(settings.log_level if settings else "WARNING"),  # type: ignore[arg-type]
    )
    _install_redaction(settings)

    async def publish(conversation: Conversation) -> None:
        uri = CONVERSATION_URI.format(conversation_id=conversation.id)
        await bus.publish(ResourceUpdated(uri=uri))
        for connection in list(legacy_subscribers.get(uri, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception:  # noqa: BLE001 - a subscriber that left is simply forgotten
                legacy_subscribers[uri].discard(connection)

    # --- tools ---------------------------------------------------------------------------------------------

    @server.tool(
        title="Ask GigaChat",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True),
    )
    async def chat(
        prompt: Annotated[str, Field(min_length=1, max_length=200_000,
                                     description="What to ask GigaChat. Russian and English both work well.")],
        ctx: Context,
        system: Annotated[str | None, Field(max_length=20_000, description=(
            "Optional system prompt (role, tone, format). Kept for later turns of the same conversation."))] = None,
        model: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description=(
            "Model id, e.g. GigaChat-2, GigaChat-2-Pro, GigaChat-2-Max; see list_models. Default: the "
            "server's GIGACHAT_MODEL."))] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2, allow_inf_nan=False, description=(
            "Sampling temperature; lower is more focused. Default: the model's."))] = None,
        max_tokens: Annotated[int | None, Field(ge=1, le=32_768, description="Upper bound on answer length.")] = None,
        conversation_id: Annotated[str | None, Field(pattern=r"^[0-9a-f]{16}$", description=(
            "Continue this conversation (from an earlier result). Omit to start a new one."))] = None,
        background: Annotated[bool, Field(description=(
            "Return at once and keep streaming into the conversation resource; use for long answers."))] = False,
    ) -> Annotated[CallToolResult, ChatAnswer]:
        """Ask GigaChat and get its answer; the answer streams as progress while it is written."""
        live = cast(_Live, ctx.request_context.lifespan_context)  # what lifespan() yields
        runner = live.require()
        conversation = _conversation(store, conversation_id, system)
        chosen = model or runner.client.settings.model
        messages = conversation.begin(prompt, chosen, store.max_messages)
        options = {"model": chosen, "temperature": temperature, "max_tokens": max_tokens}
        uri = CONVERSATION_URI.format(conversation_id=conversation.id)
        if background:
            assert live.tasks is not None
            live.tasks.start_soon(_background_turn, runner, conversation, messages, options, publish)
            await publish(conversation)
            return _answer_result(conversation, uri, status="streaming")

        async def progress(value: float, message: str) -> None:
            await ctx.report_progress(value, None, message)

        try:
            await runner.run(conversation, messages, options, progress, publish)
        except GigaChatError as exc:
            raise ToolError(await _explain(exc, live, runner, uri)) from None
        return _answer_result(conversation, uri, status="done")

    @server.tool(title="List GigaChat models", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def list_models(ctx: Context) -> ModelList:
        """List the GigaChat models this key can use (chat models answer `chat`; embedders make vectors)."""
        live = cast(_Live, ctx.request_context.lifespan_context)  # what lifespan() yields
        runner = live.require()
        try:
            models = await runner.client.models()
        except GigaChatError as exc:
            raise ToolError(str(exc)) from None
        live.models = [m.id for m in models if m.type == "chat"]
        return ModelList(models=[ModelInfo(id=m.id, type=m.type) for m in models], default=runner.client.settings.model)

    @server.tool(title="Read a GigaChat conversation", annotations=ToolAnnotations(read_only_hint=True))
    async def get_conversation(
        conversation_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$", description="From a chat result.")],
        wait_seconds: Annotated[float, Field(ge=0, le=50, description=(
            "Wait up to this long for an answer in flight to finish (0: return at once)."))] = 0,
    ) -> str:
        """The conversation's transcript and status (streaming, done, error, cancelled) as JSON; the way to read a
        background answer in hosts that cannot read resources."""
        conversation = _known(store, conversation_id)
        with anyio.move_on_after(wait_seconds):
            while conversation.busy:
                await anyio.sleep(0.05)
        return json.dumps(conversation.snapshot(CONVERSATION_URI.format(conversation_id=conversation.id)),
                          ensure_ascii=False, indent=1)

    @server.tool(title="Count GigaChat tokens", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def count_tokens(
        texts: Annotated[list[Annotated[str, Field(max_length=200_000)]], Field(min_length=1, max_length=100)],
        ctx: Context,
        model: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")] = None,
    ) -> TokenCountOut:
        """Count the tokens each text takes for a GigaChat model, e.g. to check a prompt fits."""
        runner = cast(_Live, ctx.request_context.lifespan_context).require()
        try:
            counts = await runner.client.count_tokens(texts, model=model)
        except GigaChatError as exc:
            raise ToolError(str(exc)) from None
        return TokenCountOut(tokens=[c.tokens for c in counts], characters=[c.characters for c in counts])

    # --- resources -----------------------------------------------------------------------------------------

    @server.resource(CONVERSATION_URI, title="GigaChat conversation", mime_type="application/json")
    def conversation_resource(conversation_id: str) -> str:
        """A conversation's transcript, the answer in flight included, with its status; updates are notified."""
        conversation = store.peek(conversation_id)
        if conversation is None:
            raise ResourceError(f"No conversation {conversation_id!r}: it never existed or was dropped by the cap "
                                f"of {store.max_conversations} conversations.")
        return json.dumps(conversation.snapshot(CONVERSATION_URI.format(conversation_id=conversation_id)),
                          ensure_ascii=False)

    @server.resource(MODELS_URI, title="GigaChat models", mime_type="application/json")
    async def models_resource() -> str:
        """The models this key can use."""
        if not running:
            raise ResourceError("The server is not running.")
        try:
            models = await running[-1].require().client.models()
        except (GigaChatError, ToolError) as exc:
            raise ResourceError(str(exc)) from None
        return json.dumps([{"id": m.id, "type": m.type} for m in models])

    # --- 2025-era subscriptions (2026 clients use subscriptions/listen, served by MCPServer itself) ---------

    # ctx.session is a per-request proxy; its connection is what stays the same between subscribe and unsubscribe.
    async def subscribe(ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        legacy_subscribers.setdefault(str(params.uri), set()).add(ctx.session._connection)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        legacy_subscribers.get(str(params.uri), set()).discard(ctx.session._connection)
        return EmptyResult()

    lowlevel = server._lowlevel_server  # MCPServer has no public hook for these (mcp migration guide)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    return server


def _conversation(store: ConversationStore, conversation_id: str | None, system: str | None) -> Conversation:
    if conversation_id is None:
        return store.create(system)
    conversation = _known(store, conversation_id)
    if conversation.busy:
        raise ToolError(f"Conversation {conversation_id} is still answering. Wait for it (get_conversation with "
                        "wait_seconds), or omit conversation_id to start a new conversation.")
    if system is not None:
        conversation.system = system
    return conversation


def _known(store: ConversationStore, conversation_id: str) -> Conversation:
    try:
        return store.get(conversation_id)
    except UnknownConversation:
        raise ToolError(f"Unknown conversation_id {conversation_id!r}: it never existed, or it was dropped (this "
                        f"server keeps the {store.max_conversations} most recent). Omit conversation_id to start "
                        "a new conversation.") from None


async def _background_turn(runner: TurnRunner, conversation: Conversation, messages: list[dict[str, str]],
                           options: dict[str, Any], publish: Any) -> None:
    """Runs in the server's task group: any failure is recorded in the conversation, never raised into the group."""
    try:
        await runner.run(conversation, messages, options, None, publish)
    except GigaChatError as exc:
        log.warning("background answer for %s failed: %s", conversation.id, exc)
    except Exception:  # noqa: BLE001 - already logged and recorded by the runner; the server must live on
        pass


def _answer_result(conversation: Conversation, uri: str, status: Literal["done", "streaming"]) -> CallToolResult:
    text = conversation.answer() if status == "done" else ""
    answer = ChatAnswer(
        text=text,
        conversation_id=conversation.id,
        model=conversation.model,
        finish_reason=conversation.finish_reason,
        usage=UsageOut(**conversation.usage) if conversation.usage else None,
        resource_uri=uri,
        status=status,
    )
    shown = text if status == "done" else (
        f"GigaChat is answering in the background. Read {uri} or call get_conversation with "
        f"conversation_id={conversation.id!r} and wait_seconds to get the answer.")
    return CallToolResult(content=[TextContent(type="text", text=shown)],
                          structured_content=answer.model_dump(mode="json"))


async def _explain(exc: GigaChatError, live: _Live, runner: TurnRunner, uri: str) -> str:
    """The tool error text: the client's message, plus what only the server knows."""
    message = str(exc)
    if isinstance(exc, APIError) and exc.status_code == 404:
        try:
            live.models = live.models or [m.id for m in await runner.client.models() if m.type == "chat"]
        except GigaChatError:
            pass
        if live.models:
            message += f" Available chat models: {', '.join(live.models)}."
    if isinstance(exc, StreamError) and exc.partial_text:
        message += f" The partial answer is kept in {uri}."
    return message


class _Redact(logging.Filter):
    """Masks the configured secrets in every log record, as a last line of defence."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, None
        return True


def _install_redaction(settings: Settings | None) -> None:
    """One filter per handler, holding the secrets of every server built in this process."""
    if settings is None or not settings.secrets:
        return
    for handler in logging.getLogger().handlers:
        redact = next((f for f in handler.filters if isinstance(f, _Redact)), None)
        if redact is None:
            redact = _Redact()
            handler.addFilter(redact)
        redact.secrets.update(settings.secrets)
