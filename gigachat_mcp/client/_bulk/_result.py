"""What a map returns: every row's answer in input order, or the row's error record, with the sums people ask
for first (texts, parsed values, errors, usage)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from .._types import ChatResult, Usage

__all__ = ["MapResult", "RowError"]


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that got no answer: its position in the input, what went wrong, and the prompt that was sent (the
    filled template, or the prompt or message list as given)."""

    index: int
    exception: BaseException
    prompt: Any

    def __str__(self) -> str:
        return f"row {self.index}: {type(self.exception).__name__}: {self.exception}"


class MapResult(Sequence["ChatResult | RowError"]):
    """The rows' results in input order: each a ChatResult, or a RowError for a row that failed.

    `texts` (a str, or None for a failed row), `parsed` (with response_format=), `errors` (the RowErrors) and
    `usage` (summed over the answered rows) are there so a caller rarely loops by hand."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[ChatResult | RowError]) -> None:
        self._items = list(items)

    @overload
    def __getitem__(self, index: int) -> ChatResult | RowError: ...
    @overload
    def __getitem__(self, index: slice) -> list[ChatResult | RowError]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ChatResult | RowError]:
        return iter(self._items)

    @property
    def texts(self) -> list[str | None]:
        """Each row's answer text; None where the row failed."""
        return [item.text if isinstance(item, ChatResult) else None for item in self._items]

    @property
    def parsed(self) -> list[Any]:
        """Each row's `.parsed` (response_format=); None where the row failed."""
        return [item.parsed if isinstance(item, ChatResult) else None for item in self._items]

    @property
    def errors(self) -> list[RowError]:
        """The rows that failed, in input order."""
        return [item for item in self._items if isinstance(item, RowError)]

    @property
    def ok(self) -> bool:
        """True when every row was answered."""
        return not any(isinstance(item, RowError) for item in self._items)

    @property
    def usage(self) -> Usage:
        """Token usage summed over the answered rows (rows read from the cache included: what the run cost
        when it was paid for)."""
        prompt = completion = total = precached = 0
        for item in self._items:
            if isinstance(item, ChatResult):
                u = item.usage
                prompt += u.prompt_tokens
                completion += u.completion_tokens
                total += u.total_tokens
                precached += u.precached_prompt_tokens
        return Usage(prompt, completion, total, precached)

    def __repr__(self) -> str:
        failed = sum(isinstance(item, RowError) for item in self._items)
        return f"MapResult({len(self._items)} rows, {len(self._items) - failed} answered, {failed} failed)"
