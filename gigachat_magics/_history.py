"""The notebook's conversation: exchanges in order, bounded, and re-running a cell replaces its own exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Exchange", "History"]


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str
    cell_id: str | None = None
    attachments: tuple[Any, ...] = ()  # re-sent with later prompts; the client uploads each content only once
    state_id: str | None = None  # a built-in tool's state (a drawing), which the API wants back next turn
    interrupted: bool = False  # stopped by the user: shown in the history, never sent as context


class History:
    """Exchanges of this session; the system prompt of the conversation stays until --new or reset."""

    def __init__(self) -> None:
        self.system: str | None = None
        self.exchanges: list[Exchange] = []

    def reset(self, system: str | None = None) -> None:
        self.system = system
        self.exchanges = []

    def forget_cell(self, cell_id: str | None) -> None:
        """Drop the exchange an earlier run of this cell left, so a re-run does not pile up duplicates."""
        if cell_id is not None:
            self.exchanges = [e for e in self.exchanges if e.cell_id != cell_id]

    def messages(self, prompt: str, max_exchanges: int) -> list[dict[str, Any]]:
        """What to send: the system prompt, the last `max_exchanges` exchanges, then the new prompt."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        kept = self.exchanges[-max_exchanges:] if max_exchanges > 0 else []
        for exchange in kept:
            if exchange.interrupted:
                continue
            user: dict[str, Any] = {"role": "user", "content": exchange.user}
            if exchange.attachments:
                user["attachments"] = list(exchange.attachments)
            messages.append(user)
            assistant: dict[str, Any] = {"role": "assistant", "content": exchange.assistant}
            if exchange.state_id:
                assistant["state_id"] = exchange.state_id
            messages.append(assistant)
        messages.append({"role": "user", "content": prompt})
        return messages

    def add(self, exchange: Exchange, max_exchanges: int) -> None:
        self.exchanges.append(exchange)
        excess = len(self.exchanges) - max(max_exchanges, 1)
        if excess > 0:
            del self.exchanges[:excess]
