"""Argument completion (`completion/complete`): what a host offers while the user fills in a prompt or a resource
template.

- a prompt's fixed choices (`target_language`, `focus`, `register`), read from its Literal annotations;
- `model` (a prompt argument): the key's chat models, fetched once and kept (the same list `list_models` fills);
- `conversation_id` of `gigachat://conversations/{conversation_id}`: the caller's own recent conversations, newest
  first (with auth, only the principal's own: the store is asked for that owner's ids, never anyone else's).

Anything else completes to nothing (an empty list), so a host probing other names gets an answer, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from .access import current_owner
from .context import Live, Parts
from .names import CONVERSATION_URI

__all__ = ["MAX_VALUES", "register_completions"]

MAX_VALUES = 100  # the protocol's cap on one completion's values
log = logging.getLogger("gigachat_mcp.server")


def matching(choices: Sequence[str], typed: str) -> Completion:
    """The choices starting with what was typed (case aside), in their order, at most MAX_VALUES of them."""
    typed = typed.casefold()
    found = [choice for choice in choices if choice.casefold().startswith(typed)]
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


async def chat_models(live: Live) -> list[str]:
    """The key's chat models, asked once per server run (errors.py and list_models share the cache)."""
    if not live.models:
        runner = live.require()
        live.models = [model.id for model in await runner.client.models() if model.type == "chat"]
    return live.models


def register_completions(server: MCPServer[Live], parts: Parts, prompt_choices: dict[str, dict[str, list[str]]]
                         ) -> None:
    """Completions for the prompts (`prompt_choices`: each prompt's arguments with fixed choices) and the
    conversation template."""

    @server.completion()
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion | None:
        if isinstance(ref, PromptReference):
            fixed = prompt_choices.get(ref.name, {}).get(argument.name)
            if fixed is not None:
                return matching(fixed, argument.value)
            if argument.name == "model" and ref.name in prompt_choices:
                try:
                    return matching(await chat_models(parts.current()), argument.value)
                except Exception:  # noqa: BLE001 - no key or no service: nothing to offer, the prompt still works
                    log.debug("model completion unavailable", exc_info=True)
                    return None
            return None
        if ref.uri == CONVERSATION_URI and argument.name == "conversation_id":
            ids = await parts.store.recent(parts.store.max_conversations, current_owner())
            return matching(ids, argument.value)
        return None
