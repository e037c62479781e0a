"""The concurrent run, written once for both clients: `concurrency` workers take rows one at a time, each row is
sent once and stored in the cache the moment its answer arrives; a 429 closes one gate every worker waits at
(for Retry-After, else a growing pause), so the whole run slows down instead of each worker hammering on its own.

The workers' requests raise a 429 at once (`RATE_LIMITS_TO_CALLER`) instead of retrying it inside the client, so
the gate is the only thing that waits; 5xx and connection failures keep the client's own retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, cast

from .. import _structured
from .._errors import RateLimitError
from .._retry import RATE_LIMITS_TO_CALLER
from .._types import ChatResult
from ._cache import MapCache, dump_result, load_result
from ._plan import Plan, note
from ._result import MapResult, RowError

__all__ = ["MAX_RATE_LIMITS", "Progress", "RateGate", "Run", "Send", "answer_blocking", "row_flow", "run_rows"]

Progress = Callable[[int, int, int], None]
Send = Callable[[Any], Awaitable[ChatResult]]  # one row's prompt -> its answer: chat() with the run's options
MAX_RATE_LIMITS = 12  # 429s one row may meet before it is reported failed
MAX_PAUSE_S = 60.0


class RateGate:
    """One pause for the whole run. `pause` after a 429 (Retry-After when the server gave it, else 0.5 s
    doubling per 429 in a row, at most a minute); `cleared` after a success; workers wait out `closed_for`
    before each send."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.open_at = 0.0
        self.strikes = 0

    def pause(self, retry_after: float | None) -> float:
        delay = retry_after if retry_after is not None else min(MAX_PAUSE_S, 0.5 * 2 ** self.strikes)
        self.strikes += 1
        self.open_at = max(self.open_at, self._clock() + min(delay, MAX_PAUSE_S))
        return delay

    def cleared(self) -> None:
        self.strikes = 0

    def closed_for(self) -> float:
        return max(0.0, self.open_at - self._clock())


class Run:
    """One run's rows as they get answered: readable at any moment, so an interrupted run still hands back what
    it has (`partial`)."""

    def __init__(self, plan: Plan, progress: Progress | None) -> None:
        self.plan = plan
        self.results: list[ChatResult | RowError | None] = [None] * len(plan.prompts)
        self.done = 0
        self.failed = 0
        self.progress = progress  # (done, total, errors) after each row; the blocking driver sets it late

    def load_cached(self, cache: MapCache | None) -> list[int]:
        """Fill the rows the cache answers; the indices of the rest, in order."""
        if cache is not None and self.results:
            rows: dict[str, list[int]] = {}
            for index, key in enumerate(self.plan.keys):
                rows.setdefault(key, []).append(index)
            for key, value in cache.answers(self.plan.keys):
                result = _structured.with_parsed(load_result(value), self.plan.fmt)
                for index in rows[key]:
                    self.results[index] = result
                    self.done += 1
        self.report()
        return [index for index, item in enumerate(self.results) if item is None]

    def finish(self, index: int, item: ChatResult | RowError, cache: MapCache | None) -> None:
        if isinstance(item, ChatResult) and cache is not None:
            cache.save(self.plan.keys[index], dump_result(item))
        self.results[index] = item
        self.done += 1
        self.failed += isinstance(item, RowError)
        self.report()

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, len(self.results), self.failed)

    def outcome(self) -> MapResult:
        return MapResult([item if item is not None else self._unanswered(index)
                          for index, item in enumerate(self.results)])

    def _unanswered(self, index: int) -> RowError:
        return RowError(index, InterruptedError("not answered: the run was stopped before this row's answer "
                                                "arrived; run the same map again to send it"), self.plan.prompts[index])


async def run_rows(send: Send, run: Run, cache: MapCache | None) -> MapResult:
    """Answer every row the cache does not, `plan.concurrency` at a time, behind one rate gate. `send` is the
    async client's chat() (the blocking client's threads step the same `row_flow`: see `_workers`)."""
    plan = run.plan
    pending = iter(run.load_cached(cache))
    gate = RateGate()

    async def worker() -> None:
        RATE_LIMITS_TO_CALLER.set(True)  # this task's context only: see the module's docstring
        for index in pending:  # one shared iterator: each row is taken by exactly one worker
            item = await _answer(send, plan, index, gate)
            run.finish(index, item, cache)
            if isinstance(item, RowError) and plan.on_error == "raise":
                raise note(item.exception, f"(map row {index}; answered rows are in the map cache)")

    workers = [asyncio.create_task(worker()) for _ in range(min(plan.concurrency, len(run.results) - run.done))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return run.outcome()


def row_flow(plan: Plan, index: int, gate: RateGate) -> Generator[float | None, Any, ChatResult | RowError]:
    """One row's tries, for either driver to step through: yields a delay (sleep that long, send None back) or
    None (send the row; send back its ChatResult, or the Exception it raised); returns the row's outcome."""
    prompt = plan.prompts[index]
    limited = 0
    while True:
        while (delay := gate.closed_for()) > 0:
            yield delay
        outcome = yield None
        if isinstance(outcome, RateLimitError):
            limited += 1
            if limited > MAX_RATE_LIMITS:
                return RowError(index, outcome, prompt)
            gate.pause(outcome.retry_after)
        elif isinstance(outcome, Exception):  # one row's failure is that row's record, never the run's end
            return RowError(index, outcome, prompt)
        else:
            gate.cleared()
            return cast(ChatResult, outcome)


async def _answer(send: Send, plan: Plan, index: int, gate: RateGate) -> ChatResult | RowError:
    flow = row_flow(plan, index, gate)
    step = next(flow)
    try:
        while True:
            if step is not None:
                await asyncio.sleep(step)
                step = flow.send(None)
                continue
            try:
                outcome: Any = await send(plan.prompts[index])
            except Exception as exc:  # noqa: BLE001 - handed to the flow, which makes it the row's record
                outcome = exc
            step = flow.send(outcome)
    except StopIteration as stop:
        return cast("ChatResult | RowError", stop.value)


def answer_blocking(chat: Callable[[Any], ChatResult], plan: Plan, index: int,
                    gate: RateGate) -> ChatResult | RowError:
    """`_answer` for a thread: the same flow, sleeping and sending with blocking calls."""
    flow = row_flow(plan, index, gate)
    step = next(flow)
    try:
        while True:
            if step is not None:
                time.sleep(step)
                step = flow.send(None)
                continue
            try:
                outcome: Any = chat(plan.prompts[index])
            except Exception as exc:  # noqa: BLE001 - handed to the flow, which makes it the row's record
                outcome = exc
            step = flow.send(outcome)
    except StopIteration as stop:
        return cast("ChatResult | RowError", stop.value)
