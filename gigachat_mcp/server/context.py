"""The typed state the tools read: what lives while the server runs (`Live`, the lifespan's value) and what
`build_server` made once and every group of tools shares (`Parts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.abc
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from .. import ConfigError, Settings
from .state import Conversations, SharedState
from .turns import TurnRunner

if TYPE_CHECKING:
    from .updates import Updates

__all__ = ["Ctx", "Live", "Parts", "live"]


@dataclass
class Live:
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
            from .. import AsyncGigaChat

            s = self.settings
            streams = s.max_connections or (1 if s.scope == "GIGACHAT_API_PERS" else 10)
            client = AsyncGigaChat(s, shared_tokens=self.state.shared_tokens)
            self.runner = TurnRunner(client, max_streams=streams, interval=self.progress_interval,
                                     tail=self.progress_tail, limiter=self.state.limiter(streams),
                                     claim=self.state.claim_files)
        return self.runner


Ctx = Context[Live, Any]  # a tool's context: its lifespan_context is the server's Live


def live(ctx: Ctx) -> Live:
    """What the lifespan yields, from a request's context."""
    return ctx.request_context.lifespan_context


@dataclass
class Parts:
    """What build_server makes once and the tools, resources and handlers share."""

    shared: SharedState
    updates: Updates
    trust_client_roots: bool = False  # stdio: the client's roots name this machine's directories
    running: list[Live] = field(default_factory=list)  # the live state while serving, for readers with no ctx

    @property
    def store(self) -> Conversations:
        return self.shared.conversations

    def current(self) -> Live:
        """The running server's live state, for resources (the SDK hands static resources no context)."""
        if not self.running:
            raise ResourceError("The server is not running.")
        return self.running[-1]
