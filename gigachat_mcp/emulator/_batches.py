"""Batches on the emulated service: what each key sent, and where each batch is on its way from created through
in_progress to completed (`API.batch_delay` seconds after it was made: half of it created, half in progress).
The delay is read when a batch is looked at, so a test can let a stuck batch finish by lowering it."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["BatchStore", "StoredBatch"]


@dataclass
class StoredBatch:
    id: str
    owner: str
    method: str
    lines: list[tuple[str, dict[str, Any]]]  # (line id, request)
    created_at: float
    output_file_id: str | None = None
    completed: int = 0
    failed: int = 0

    def status(self, delay: float) -> str:
        elapsed = time.time() - self.created_at
        if self.output_file_id is not None or elapsed >= delay:
            return "completed"
        return "in_progress" if elapsed >= delay / 2 else "created"

    def describe(self, delay: float) -> dict[str, Any]:
        """The spec's BatchesList item (BatchResponse, plus the counts and the output file once completed)."""
        done = self.output_file_id is not None
        data: dict[str, Any] = {
            "id": self.id, "method": self.method, "status": self.status(delay),
            "request_counts": {"total": len(self.lines), "completed": self.completed if done else 0,
                               "failed": self.failed if done else 0},
            "created_at": int(self.created_at), "updated_at": int(time.time() if done else self.created_at),
        }
        if done:
            data["output_file_id"] = self.output_file_id
        return data


class BatchStore:
    """Every batch, by id; each key sees only its own."""

    def __init__(self) -> None:
        self._batches: dict[str, StoredBatch] = {}
        self.lock = threading.Lock()  # also held while a batch's output is made, so it is made once

    def add(self, owner: str, method: str, lines: list[tuple[str, dict[str, Any]]]) -> StoredBatch:
        batch = StoredBatch(f"batch-{uuid.uuid4()}", owner, method, lines, time.time())
        with self.lock:
            self._batches[batch.id] = batch
        return batch

    def get(self, owner: str, batch_id: str) -> StoredBatch | None:
        with self.lock:
            batch = self._batches.get(batch_id)
        return batch if batch is not None and batch.owner == owner else None

    def owned_by(self, owner: str) -> list[StoredBatch]:
        with self.lock:
            return [b for b in self._batches.values() if b.owner == owner]

    def __len__(self) -> int:
        with self.lock:
            return len(self._batches)
