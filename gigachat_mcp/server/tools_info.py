"""The tools about the key rather than a conversation: models, token counts, embeddings, the prepaid balance."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .. import APIError
from .context import Ctx, Live, live
from .errors import tool_errors
from .names import MODEL_PATTERN
from .results import Balance, Embeddings, ModelInfo, ModelList, TokenCountOut

__all__ = ["register_info_tools"]

READS = ToolAnnotations(read_only_hint=True, open_world_hint=True)


def register_info_tools(server: MCPServer[Live]) -> None:
    @server.tool(title="List GigaChat models", annotations=READS)
    async def list_models(ctx: Ctx) -> ModelList:
        """List the GigaChat models this key can use (chat models answer `chat`; embedders make vectors)."""
        state = live(ctx)
        runner = state.require()
        with tool_errors():
            models = await runner.client.models()
        state.models = [m.id for m in models if m.type == "chat"]
        return ModelList(models=[ModelInfo(id=m.id, type=m.type) for m in models], default=runner.client.settings.model)

    @server.tool(title="Count GigaChat tokens", annotations=READS)
    async def count_tokens(
        texts: Annotated[list[Annotated[str, Field(max_length=200_000)]], Field(min_length=1, max_length=100)],
        ctx: Ctx,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN)] = None,
    ) -> TokenCountOut:
        """Count the tokens each text takes for a GigaChat model, e.g. to check a prompt fits."""
        with tool_errors():
            counts = await live(ctx).require().client.count_tokens(texts, model=model)
        return TokenCountOut(tokens=[c.tokens for c in counts], characters=[c.characters for c in counts])

    @server.tool(title="GigaChat embeddings", annotations=READS)
    async def embed(
        texts: Annotated[list[Annotated[str, Field(max_length=100_000)]], Field(min_length=1, max_length=100)],
        ctx: Ctx,
        model: Annotated[str | None, Field(pattern=MODEL_PATTERN, description=(
            "Embedding model: Embeddings (default), Embeddings-2, EmbeddingsGigaR, …"))] = None,
    ) -> Embeddings:
        """Embedding vectors for texts (one per text, same order), for retrieval and similarity."""
        with tool_errors():
            vectors = await live(ctx).require().client.embeddings(texts, model=model)
        return Embeddings(model=model or "Embeddings", vectors=vectors)

    @server.tool(title="GigaChat balance", annotations=READS)
    async def get_balance(ctx: Ctx) -> Balance:
        """Tokens left on a prepaid GigaChat key, per model."""
        runner = live(ctx).require()
        with tool_errors():
            try:
                return Balance(balance=await runner.client.balance())
            except APIError as exc:
                if exc.status_code == 403:
                    raise ToolError("This key has no prepaid balance to show: /balance answers only for prepaid "
                                    "keys (token packages). Pay-as-you-go keys see their spending in the GigaChat "
                                    "Studio (developers.sber.ru/studio).") from None
                raise
