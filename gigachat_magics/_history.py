"""The notebook's conversation: exchanges in order, bounded, and re-running a cell replaces its own exchange."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Exchange", "History"]


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str
    cell_id: str | None = None
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

    def messages(self, prompt: str, max_exchanges: int) -> list[dict[str, str]]:
        """What to send: the system prompt, the last `max_exchanges` exchanges, then the new prompt."""
        messages = [{"role": "system", "content": self.system}] if self.system else []
        kept = self.exchanges[-max_exchanges:] if max_exchanges > 0 else []
        for exchange in kept:
            if exchange.interrupted:
                continue
            messages.append({"role": "user", "content": exchange.user})
            messages.append({"role": "assistant", "content": exchange.assistant})
        messages.append({"role": "user", "content": prompt})
        return messages

    def add(self, exchange: Exchange, max_exchanges: int) -> None:
        self.exchanges.append(exchange)
        excess = len(self.exchanges) - max(max_exchanges, 1)
        if excess > 0:
            del self.exchanges[:excess]
