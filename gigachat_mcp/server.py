"""The MCP server: a streaming `chat` tool, conversations as live resources, and the tools around them.

`build_server()` returns the MCPServer, so tests connect to it in memory; `gigachat-mcp` serves it over stdio
(or streamable HTTP). The answer streams twice: as progress notifications on the tool call (what hosts show)
and into `gigachat://conversations/{id}`, whose subscribers hear about every change (both protocol eras).
Failures are tool errors whose text says what to do; nothing a tool does can end the server.
"""

from __future__ import annotations

import base64
import difflib
import json
import logging
import re
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

import anyio
import anyio.abc
from mcp.server import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    EmptyResult,
    ImageContent,
    ResourceLink,
    SubscribeRequestParams,
    TextContent,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel, Field, ValidationError

from . import APIError, ConfigError, GigaChatError, Settings, StreamError, StructuredOutputError, __version__
from ._app import LiveView
from ._arguments import ArgumentProblem, check, combine, explain
from ._conversations import ID_PATTERN, Conversation, ConversationStore
from ._files_access import FileAccessDenied, allowed_roots, resolve
from ._prompts import add_prompts
from ._team.state import (
    ConversationBusy,
    Conversations,
    LimitExceeded,
    SharedState,
    StateUnavailable,
    UnknownFile,
    open_state,
)
from ._turns import TurnRunner

__all__ = ["build_server"]

log = logging.getLogger("gigachat_mcp.server")

CONVERSATION_URI = "gigachat://conversations/{conversation_id}"
MODELS_URI = "gigachat://models"
FILE_URI = "gigachat://files/{file_id}"
FILE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
PATTERN_WORDS = {  # what the patterns mean, for argument errors a model (and a person) can act on
    MODEL_PATTERN: "a model id such as GigaChat-2-Max (letters, digits, '.', '_', ':' or '-'; list_models names them)",
    ID_PATTERN: "the 16-character conversation_id an earlier chat result returned",
}
RESOURCE_NOT_FOUND_LEGACY = -32002  # resources/read of a missing resource, protocol 2025-11-25 and earlier
INSTRUCTIONS = """\
This server asks Sber's GigaChat, a Russian-language-first LLM, and returns its answer.
Use `chat` for a second opinion, for Russian text, or when the user asks for GigaChat by name. Pass the
returned `conversation_id` back to continue the same conversation (the system prompt is kept). The answer
streams as progress notifications; for long answers pass `background: true`, then read the resource
`gigachat://conversations/{id}` or call `get_conversation` with `wait_seconds`. `list_models` names the models.
GigaChat sees images and reads documents: pass local paths (under the user's roots) or file ids in `attachments`.
It draws when asked ("нарисуй кота"); drawn images come back as image content and as `gigachat://files/{id}`.
For recent facts (news, prices, today's events) pass `web_search: true`; the sources come back as links. When you
need fields rather than prose, pass `json_schema` and read `json`. For hard problems pass `reasoning_effort`.
"""


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    precached_prompt_tokens: int = 0


class FileOut(BaseModel):
    id: str
    mime_type: str
    resource_uri: str = Field(description="gigachat://files/{id}: the file's bytes as a blob resource.")


class SourceOut(BaseModel):
    title: str
    url: str


class ChatAnswer(BaseModel):
    """The `chat` tool's structured result."""

    text: str = Field(description="The answer (empty while a background answer is still streaming).")
    conversation_id: str = Field(description="Pass it back as conversation_id to continue this conversation.")
    model: str | None = Field(description="The model that answered, with its version.")
    finish_reason: str | None = Field(description="stop, length (hit max_tokens), blacklist, … or null.")
    usage: UsageOut | None = Field(description="Tokens spent on this turn.")
    resource_uri: str = Field(description="Live transcript of the conversation, answer in flight included.")
    status: str = Field(description="done, or streaming for background answers.")
    files: list[FileOut] = Field(default_factory=list, description="Files GigaChat made in this turn (drawn images).")
    reasoning: str | None = Field(default=None, description="GigaChat's thinking, with reasoning_effort; not the "
                                                            "answer.")
    sources: list[SourceOut] = Field(default_factory=list, description="Web pages a web_search answer drew on.")
    json_: Any = Field(default=None, alias="json", serialization_alias="json", description=(
        "With json_schema: the answer parsed as JSON and checked against the schema."))


class ModelInfo(BaseModel):
    id: str
    type: str


class ModelList(BaseModel):
    models: list[ModelInfo]
    default: str


class Embeddings(BaseModel):
    model: str
    vectors: list[list[float]]


class Balance(BaseModel):
    balance: dict[str, float] = Field(description="Tokens left per model or service.")


class TokenCountOut(BaseModel):
    tokens: list[int]
    characters: list[int]


class _Server(MCPServer):
    """MCPServer whose tools reject unknown arguments and non-booleans, and explain bad ones in sentences
    (`_arguments`), before the SDK's lax validation runs."""

    _schemas: dict[str, dict[str, Any]] | None = None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if self._schemas is None or name not in self._schemas:
            self._schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        schema = self._schemas.get(name)
        if schema is None:  # an unknown tool: the SDK's own error
            return await super().call_tool(name, arguments, context)
        try:
            checked = check(name, schema, arguments, PATTERN_WORDS)
        except ArgumentProblem as found:
            problem = combine(found, self._validate(name, schema, found.rest))
            raise ToolError(str(problem)) from _names_only(name, problem)
        try:
            return await super().call_tool(name, checked, context)
        except ToolError as exc:
            if type(exc) is ToolError and isinstance(exc.__cause__, ValidationError):  # the arguments' validation
                problem = explain(name, schema, checked, exc.__cause__.errors(), PATTERN_WORDS)
                raise ToolError(str(problem)) from _names_only(name, problem)
            raise

    def _validate(self, name: str, schema: dict[str, Any], arguments: dict[str, Any]) -> ArgumentProblem | None:
        """What the SDK's validation says about `arguments`, without running the tool, so one reply names every
        bad argument. Uses the SDK's tool registry (no public API); without it, the reply names fewer."""
        tool: Any = getattr(getattr(self, "_tool_manager", None), "get_tool", lambda _: None)(name)
        try:
            tool.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            return explain(name, schema, arguments, exc.errors(), PATTERN_WORDS)
        except Exception:  # noqa: BLE001 - the registry changed shape: report what check() found
            return None
        return None


def _names_only(tool: str, problem: ArgumentProblem) -> ValidationError:
    """A ValidationError naming only the bad arguments: the SDK logs its field names, never the caller's values."""
    return ValidationError.from_exception_data(tool, [
        {"type": "value_error", "loc": (name,), "input": None, "ctx": {"error": "see the tool error"}}
        for name in problem.names])


@dataclass
class _Live:
    """What lives as long as the server runs: the client, the turn runner, the background task group."""

    settings: Settings | None
    config_error: ConfigError | None
    progress_interval: float
    progress_tail: int
    state: SharedState
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
                                     tail=self.progress_tail, limiter=self.state.limiter(streams),
                                     claim=self.state.claim_files)
        return self.runner


def _live(ctx: Context) -> _Live:
    """What lifespan() yields, from a request's context."""
    return cast(_Live, ctx.request_context.lifespan_context)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """A GigaChat failure as a tool error carrying the client's message (which says what to do)."""
    try:
        yield
    except GigaChatError as exc:
        raise ToolError(str(exc)) from None


def build_server(
    settings: Settings | None = None,
    *,
    max_conversations: int = 100,
    max_messages: int = 40,
    progress_interval: float = 0.1,
    progress_tail: int = 2000,
    conversations: ConversationStore | None = None,
    state: SharedState | None = None,
    auth: tuple[Any, Any] | None = None,
) -> MCPServer:
    """The GigaChat MCP server. Settings come from GIGACHAT_* unless given; a bad setting is reported by the
    tools (naming the variable), so the server still starts and the host can show the error. Pass
    `conversations` to look at (or share) the store; otherwise one is made with the two caps. A team server
    passes `state` (Redis-backed, see _team) and `auth` (a TokenVerifier and its AuthSettings)."""
    config_error: ConfigError | None = None
    if settings is None:
        try:
            settings = Settings.resolve()
        except ConfigError as exc:
            config_error = exc
    if state is None:
        state = open_state(max_conversations=max_conversations, max_messages=max_messages, store=conversations)
    shared = state
    store = shared.conversations
    running: list[_Live] = []  # the live state while the server runs, for the static resource (it gets no ctx)
    bus = shared.bus
    if auth:  # each principal's listen streams hear only about its own conversations
        from ._team.subscriptions import PrincipalBus

        bus = PrincipalBus(bus, _owner)
    legacy_subscribers: dict[str, set[Any]] = {}
    view = LiveView(store, find=lambda cid, ctx: _known(store, cid, _owner()),  # the live view for Apps hosts
                    runner_of=lambda ctx: _live(ctx).runner,
                    uri_of=lambda c: CONVERSATION_URI.format(conversation_id=c.id), owner_of=_owner)
    bus.subscribe(view.on_event)

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[_Live]:
        live = _Live(settings, config_error, progress_interval, progress_tail, shared)
        async with anyio.create_task_group() as tasks:
            live.tasks = tasks
            for start in shared.starters:  # the shared state's background work (pub/sub reader, lease renewal)
                tasks.start_soon(start)
            running.append(live)
            try:
                yield live
            finally:
                running.remove(live)
                tasks.cancel_scope.cancel()
                if live.runner is not None:
                    with anyio.CancelScope(shield=True):
                        await live.runner.client.aclose()

    server = _Server(
        "gigachat",
        title="GigaChat",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        subscriptions=bus,
        log_level=(settings.log_level if settings else "WARNING"),  # type: ignore[arg-type]
        extensions=[view.apps],
        token_verifier=auth[0] if auth else None,
        auth=auth[1] if auth else None,
    )
    server.middleware.append(view.listing)
    add_prompts(server)
    _install_redaction(settings)

    async def publish(conversation: Conversation) -> None:
        uri = CONVERSATION_URI.format(conversation_id=conversation.id)
        if auth:
            from ._team.subscriptions import OwnedUpdate

            event: ResourceUpdated = OwnedUpdate(uri=uri, owner=store.owner(conversation.id))
        else:
            event = ResourceUpdated(uri=uri)
        if shared.announce is not None:  # Redis: the new text and the event in one round trip
            await shared.announce(conversation, event)
        else:  # in memory: the conversation is the live object; tell this process's listeners
            await bus.publish(event)
        await tell_legacy(uri)

    async def tell_legacy(uri: str) -> None:
        for connection in list(legacy_subscribers.get(uri, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception:  # noqa: BLE001 - a subscriber that left is simply forgotten
                legacy_subscribers[uri].discard(connection)

    bus.on_remote(tell_legacy)  # changes made on other replicas reach this replica's 2025-era subscribers

    async def begin_turn(held: AsyncExitStack, owner: str | None, conversation_id: str | None,
                         system: str | None, prompt: str, model: str,
                         attachments: list[str] | None = None) -> tuple[Conversation, list[dict[str, Any]]]:
        """Admit a turn (draining, the principal's limits) and start it in its conversation; the principal's
        stream is held in `held` for as long as the caller keeps it."""
        try:
            if shared.draining:
                raise ToolError("This GigaChat server is shutting down. Retry in a few seconds (another "
                                "replica will answer).")
            if shared.quotas is not None:
                await shared.quotas.admit(owner or "")
                await held.enter_async_context(shared.quotas.stream(owner or ""))
            conversation = await _conversation(store, conversation_id, system, owner)
            return conversation, await store.begin(conversation, prompt, model, attachments)
        except LimitExceeded as exc:
            raise ToolError(str(exc)) from None
        except ConversationBusy as exc:
            raise ToolError(_BUSY.format(exc.args[0])) from None
        except StateUnavailable as exc:
            raise ToolError(str(exc)) from None

    async def run_turn(live: _Live, conversation: Conversation, messages: list[dict[str, Any]],
                       options: dict[str, Any], progress: Any) -> None:
        """Stream the answer (counted as in flight, for a draining server); a GigaChat failure is a tool error
        saying what to do."""
        runner = live.require()
        shared.in_flight += 1
        try:
            await runner.run(conversation, messages, options, progress, publish)
        except GigaChatError as exc:
            uri = CONVERSATION_URI.format(conversation_id=conversation.id)
            raise ToolError(await _explain(exc, live, runner, uri, options["model"])) from None
        finally:
            shared.in_flight -= 1

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
                "Files for GigaChat to look at or read: paths of local files under the user's roots (images: jpg, "
                "png, tiff, bmp; documents: txt, pdf, docx, …; audio), or file ids from earlier results. "
                "GigaChat-2-Pro and -Max see images; one image per message."))] = None,
        reasoning_effort: Annotated[Literal["low", "medium", "high"] | None, Field(description=(
            "Let GigaChat think before answering (maths, logic, planning, tricky code); its thinking streams as "
            "progress marked [thinking] and comes back in `reasoning`, apart from the answer. Slower; omit for "
            "simple questions."))] = None,
        web_search: Annotated[bool, Field(description=(
            "Let GigaChat search the web first: use for recent facts (news, prices, schedules, anything after "
            "its training). The pages it used come back in `sources` and as links. Needs the server's "
            "GIGACHAT_API_VERSION=v2."))] = False,
        json_schema: Annotated[dict[str, Any] | None, Field(description=(
            "A JSON Schema the answer must fit, when you need fields rather than prose (extraction, "
            "classification, lists of items). The parsed object comes back in `json`."))] = None,
    ) -> Annotated[CallToolResult, ChatAnswer]:
        """Ask GigaChat and get its answer; the answer streams as progress while it is written. GigaChat draws
        when asked to (the image comes back as image content)."""
        live = _live(ctx)
        runner = live.require()
        owner = _owner()
        await _check_file_ids(shared, owner, attachments)
        attached = await _resolve_attachments(ctx, runner.client.settings, attachments)
        chosen = model or runner.client.settings.model
        async with AsyncExitStack() as held:
            conversation, messages = await begin_turn(held, owner, conversation_id, system, prompt, chosen, attached)
            options = {"model": chosen, "temperature": temperature, "max_tokens": max_tokens,
                       "tools": ["image_generate"] if runner.client.settings.image_generation else None}
            if reasoning_effort or web_search or json_schema is not None:
                options = _richer_options(options, reasoning_effort, web_search, json_schema)
            uri = CONVERSATION_URI.format(conversation_id=conversation.id)
            if background:
                assert live.tasks is not None
                live.tasks.start_soon(_background_turn, runner, conversation, messages, options, publish, shared,
                                      held.pop_all())
                await publish(conversation)
                return _answer_result(conversation, uri, status="streaming")

            async def progress(value: float, message: str) -> None:
                await ctx.report_progress(value, None, message)

            await run_turn(live, conversation, messages, options, progress)
            status: Literal["done", "cancelled"] = "cancelled" if conversation.status == "cancelled" else "done"
            return _with_sources(await _with_images(_answer_result(conversation, uri, status=status), runner))

    @server.tool(title="List GigaChat models", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def list_models(ctx: Context) -> ModelList:
        """List the GigaChat models this key can use (chat models answer `chat`; embedders make vectors)."""
        live = _live(ctx)
        runner = live.require()
        with _tool_errors():
            models = await runner.client.models()
        live.models = [m.id for m in models if m.type == "chat"]
        return ModelList(models=[ModelInfo(id=m.id, type=m.type) for m in models], default=runner.client.settings.model)

    @server.tool(title="Read a GigaChat conversation", annotations=ToolAnnotations(read_only_hint=True))
    async def get_conversation(
        conversation_id: Annotated[str, Field(pattern=ID_PATTERN, description="From a chat result.")],
        wait_seconds: Annotated[float, Field(ge=0, le=50, description=(
            "Wait up to this long for an answer in flight to finish (0: return at once)."))] = 0,
    ) -> str:
        """The conversation's transcript and status (streaming, done, error, cancelled) as JSON; the way to read a
        background answer in hosts that cannot read resources."""
        owner = _owner()
        conversation = await _known(store, conversation_id, owner)
        with anyio.move_on_after(wait_seconds):
            while conversation.busy:
                await anyio.sleep(0.05)
                conversation = await _known(store, conversation_id, owner)
        return json.dumps(conversation.snapshot(CONVERSATION_URI.format(conversation_id=conversation.id)),
                          ensure_ascii=False, indent=1)

    @server.tool(title="Count GigaChat tokens", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def count_tokens(
        texts: Annotated[list[Annotated[str, Field(max_length=200_000)]], Field(min_length=1, max_length=100)],
        ctx: Context,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN)] = None,
    ) -> TokenCountOut:
        """Count the tokens each text takes for a GigaChat model, e.g. to check a prompt fits."""
        with _tool_errors():
            counts = await _live(ctx).require().client.count_tokens(texts, model=model)
        return TokenCountOut(tokens=[c.tokens for c in counts], characters=[c.characters for c in counts])

    @server.tool(
        title="Draw with GigaChat",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=True),
    )
    async def generate_image(
        prompt: Annotated[str, Field(min_length=1, max_length=5_000, description=(
            "What to draw, e.g. 'a red cat on a windowsill, watercolour'."))],
        ctx: Context,
        style: Annotated[str | None, Field(max_length=1_000, description=(
            "Optional style for the picture (e.g. 'pixel art', 'в стиле Левитана'); sent as the system prompt."))]
        = None,
        conversation_id: Annotated[str | None, Field(pattern=ID_PATTERN, description=(
            "Continue this conversation, so 'make it bluer' refers to the last picture."))] = None,
    ) -> Annotated[CallToolResult, ChatAnswer]:
        """Have GigaChat (Kandinsky) draw a picture; returns the image and a conversation_id to refine it."""
        live = _live(ctx)
        runner = live.require()
        system = f"Рисуй в стиле: {style}. Draw in this style: {style}." if style else None
        chosen = runner.client.settings.model
        async with AsyncExitStack() as held:
            conversation, messages = await begin_turn(held, _owner(), conversation_id, system, prompt, chosen)
            options = {"model": chosen, "tools": ["image_generate"], "tool_choice": "image_generate"}
            uri = CONVERSATION_URI.format(conversation_id=conversation.id)
            await run_turn(live, conversation, messages, options, None)
        return await _with_images(_answer_result(conversation, uri, status="done"), runner)

    @server.tool(title="GigaChat embeddings", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def embed(
        texts: Annotated[list[Annotated[str, Field(max_length=100_000)]], Field(min_length=1, max_length=100)],
        ctx: Context,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN, description=(
            "Embedding model: Embeddings (default), Embeddings-2, EmbeddingsGigaR, …"))] = None,
    ) -> Embeddings:
        """Embedding vectors for texts (one per text, same order), for retrieval and similarity."""
        with _tool_errors():
            vectors = await _live(ctx).require().client.embeddings(texts, model=model)
        return Embeddings(model=model or "Embeddings", vectors=vectors)

    @server.tool(title="GigaChat balance", annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def get_balance(ctx: Context) -> Balance:
        """Tokens left on a prepaid GigaChat key, per model."""
        runner = _live(ctx).require()
        with _tool_errors():
            try:
                return Balance(balance=await runner.client.balance())
            except APIError as exc:
                if exc.status_code == 403:
                    raise ToolError("This key has no prepaid balance to show: /balance answers only for prepaid "
                                    "keys (token packages). Pay-as-you-go keys see their spending in the GigaChat "
                                    "Studio (developers.sber.ru/studio).") from None
                raise

    # --- resources -----------------------------------------------------------------------------------------

    @server.resource(CONVERSATION_URI, title="GigaChat conversation", mime_type="application/json")
    async def conversation_resource(conversation_id: str, ctx: Context) -> str:
        """A conversation's transcript, the answer in flight included, with its status; updates are notified."""
        try:
            conversation = await store.find(conversation_id, _owner())
        except StateUnavailable as exc:
            raise ResourceError(str(exc)) from None
        if conversation is None:
            # The spec's code for a missing resource: -32002 up to 2025-11-25; 2026-07-28 retired it for -32602
            # (SEP-2164; its clients SHOULD still accept -32002). The SDK's ResourceNotFoundError says -32602 on
            # both eras, so the code is chosen here, by the era the client speaks.
            modern = (ctx.protocol_version or "") >= "2026-07-28"
            raise MCPError(
                code=INVALID_PARAMS if modern else RESOURCE_NOT_FOUND_LEGACY,
                message=f"No conversation {conversation_id!r}: it never existed, or it was dropped (this server "
                        f"keeps the {store.max_conversations} most recent). Start a new one with the chat tool.",
                data={"uri": CONVERSATION_URI.format(conversation_id=conversation_id)})
        return json.dumps(conversation.snapshot(CONVERSATION_URI.format(conversation_id=conversation_id)),
                          ensure_ascii=False)

    @server.resource(FILE_URI, title="GigaChat file", mime_type="image/jpeg")
    async def file_resource(file_id: str) -> bytes:
        """A file GigaChat made (drawn images are JPEG) or this key uploaded, as a blob; with auth, only a file
        the caller's own turns drew or uploaded."""
        if not running:
            raise ResourceError("The server is not running.")
        try:
            await shared.check_file(_owner(), file_id)
            return await running[-1].require().client.download_file(file_id)
        except (GigaChatError, ToolError, UnknownFile, StateUnavailable) as exc:
            raise ResourceError(str(exc)) from None

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
        conversation_id = str(params.uri).rpartition("/")[2]
        if str(params.uri).startswith("gigachat://conversations/") and await store.find(conversation_id,
                                                                                        _owner()) is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown conversation {conversation_id!r}.")
        legacy_subscribers.setdefault(str(params.uri), set()).add(ctx.session._connection)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        legacy_subscribers.get(str(params.uri), set()).discard(ctx.session._connection)
        return EmptyResult()

    lowlevel = server._lowlevel_server  # MCPServer has no public hook for these (mcp migration guide)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    return server


_BUSY = ("Conversation {} is still answering. Wait for it (get_conversation with wait_seconds), or omit "
         "conversation_id to start a new conversation.")


def _owner() -> str | None:
    """The authenticated principal of this request (None when the server runs without auth)."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    if token is None:
        return None
    subject = token.subject or (token.claims or {}).get("sub")
    issuer = (token.claims or {}).get("iss")
    return f"{issuer} {subject}" if subject and issuer else token.client_id


async def _conversation(store: Conversations, conversation_id: str | None, system: str | None,
                        owner: str | None) -> Conversation:
    if conversation_id is None:
        return await store.create(system, owner)
    conversation = await _known(store, conversation_id, owner)
    if conversation.busy:
        raise ConversationBusy(conversation_id)
    if system is not None:
        conversation.system = system
    return conversation


async def _known(store: Conversations, conversation_id: str, owner: str | None) -> Conversation:
    try:
        conversation = await store.find(conversation_id, owner)
    except StateUnavailable as exc:
        raise ToolError(str(exc)) from None
    if conversation is None:
        raise ToolError(f"Unknown conversation_id {conversation_id!r}: it never existed, or it was dropped (this "
                        f"server keeps the {store.max_conversations} most recent). Omit conversation_id to start "
                        "a new conversation.") from None
    return conversation


async def _background_turn(runner: TurnRunner, conversation: Conversation, messages: list[dict[str, Any]],
                           options: dict[str, Any], publish: Any, shared: SharedState, held: AsyncExitStack) -> None:
    """Runs in the server's task group: any failure is recorded in the conversation, never raised into the group."""
    shared.in_flight += 1
    try:
        async with held:  # the principal's stream, taken when the call was accepted
            await runner.run(conversation, messages, options, None, publish)
    except GigaChatError as exc:
        log.warning("background answer for %s failed: %s", conversation.id, exc)
    except Exception:  # noqa: BLE001 - already logged and recorded by the runner; the server must live on
        pass
    finally:
        shared.in_flight -= 1


async def _check_file_ids(shared: SharedState, owner: str | None, requested: list[str] | None) -> None:
    """With auth, every file id attached must be one the caller's turns made; another's is refused in the same
    words as an id that does not exist."""
    try:
        for item in requested or ():
            if FILE_ID.match(item):
                await shared.check_file(owner, item)
    except (UnknownFile, StateUnavailable) as exc:
        raise ToolError(str(exc)) from None


async def _resolve_attachments(ctx: Context, settings: Settings, requested: list[str] | None) -> list[str]:
    """File ids as given; local paths only under the client's roots or GIGACHAT_MCP_FILE_ROOTS (real paths)."""
    if not requested:
        return []
    paths = [item for item in requested if not FILE_ID.match(item)]
    roots = allowed_roots(await _client_roots(ctx), settings.mcp_file_roots) if paths else []
    resolved = []
    for item in requested:
        if FILE_ID.match(item):
            resolved.append(item)
            continue
        try:
            resolved.append(str(resolve(item, roots)))
        except FileAccessDenied as exc:
            raise ToolError(str(exc)) from None
    return resolved


async def _client_roots(ctx: Context) -> list[str]:
    """The client's roots (2025-era clients that declare the capability); none otherwise."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in the 2026 protocol, still what hosts send
            result = await ctx.session.list_roots()
    except Exception:  # noqa: BLE001 - a client that cannot answer simply has no roots to offer
        log.debug("roots/list failed", exc_info=True)
        return []
    return [str(root.uri) for root in result.roots]


async def _with_images(result: CallToolResult, runner: TurnRunner) -> CallToolResult:
    """Each drawn file as image content after the text; a file that cannot be fetched is named instead."""
    for item in (result.structured_content or {}).get("files", ()):
        try:
            data = await runner.client.download_file(item["id"])
        except GigaChatError as exc:
            result.content.append(TextContent(type="text", text=f"(Could not fetch {item['resource_uri']}: {exc})"))
            continue
        result.content.append(ImageContent(type="image", data=base64.b64encode(data).decode(),
                                           mime_type=item["mime_type"]))
    return result


def _richer_options(options: dict[str, Any], reasoning_effort: str | None, web_search: bool,
                    json_schema: dict[str, Any] | None) -> dict[str, Any]:
    """chat's options with thinking, web search and a schema; web search and drawing both stay allowed."""
    tools = [*(options.get("tools") or ()), *(["web_search"] if web_search else [])]
    return {**options, "reasoning_effort": reasoning_effort, "tools": tools or None,
            "response_format": json_schema}


def _with_sources(result: CallToolResult) -> CallToolResult:
    """Each web source as a resource link after the answer, so hosts can show them."""
    for source in (result.structured_content or {}).get("sources", ()):
        result.content.append(ResourceLink(type="resource_link", uri=source["url"], name=source["title"],
                                           mime_type="text/html"))
    return result


def _answer_result(conversation: Conversation, uri: str,
                   status: Literal["done", "streaming", "cancelled"]) -> CallToolResult:
    finished = status != "streaming"
    text = conversation.answer() if finished else ""
    last = conversation.messages[-1] if finished and conversation.messages else {}
    files = last.get("files", [])
    answer = ChatAnswer(
        text=text,
        conversation_id=conversation.id,
        model=conversation.model,
        finish_reason=conversation.finish_reason,
        usage=UsageOut(**conversation.usage) if conversation.usage else None,
        resource_uri=uri,
        status=status,
        files=[FileOut(**f) for f in files],
        reasoning=last.get("reasoning"),
        sources=[SourceOut(**source) for source in last.get("sources", ())],
        json=last.get("json"),
    )
    if status == "done":
        shown = text
    elif status == "cancelled":  # only the live view's Stop button does this
        shown = f"{text}\n\n[The user stopped this answer here.]" if text else "[The user stopped this answer.]"
    else:
        shown = (f"GigaChat is answering in the background. Read {uri} or call get_conversation with "
                 f"conversation_id={conversation.id!r} and wait_seconds to get the answer.")
    return CallToolResult(content=[TextContent(type="text", text=shown)],
                          structured_content=answer.model_dump(mode="json", by_alias=True))


async def _explain(exc: GigaChatError, live: _Live, runner: TurnRunner, uri: str, model: str) -> str:
    """The tool error text: the client's message, plus what only the server knows."""
    message = str(exc)
    if isinstance(exc, APIError) and exc.unknown_model:
        message = await _unknown_model(exc, live, runner, model)
    if isinstance(exc, StreamError) and exc.partial_text:
        message += f" The partial answer is kept in {uri}."
    if isinstance(exc, StructuredOutputError):
        message += f" The raw answer is kept in {uri}."
    return message


async def _unknown_model(exc: APIError, live: _Live, runner: TurnRunner, model: str) -> str:
    """The wrong-model error in MCP terms: the way to list models here is the list_models tool. Written from the
    error's parts, not the core's sentence, whose hint (for Python or the command line) does not apply here."""
    try:
        live.models = live.models or [m.id for m in await runner.client.models() if m.type == "chat"]
    except GigaChatError:
        pass
    said = f"{exc.status_code} {exc.message}".strip()
    message = f"GigaChat has no model {model!r} for this key ({said})."
    close = difflib.get_close_matches(model, live.models, n=1, cutoff=0.85)
    if close:
        message += f" Did you mean {close[0]!r}?"
    message += " Call the list_models tool to see the models this key can use"
    return message + (f". Available chat models: {', '.join(live.models)}." if live.models else ".")


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
