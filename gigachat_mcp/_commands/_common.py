"""What several commands share: settings from the environment, or from an emulator started for the run."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from .. import Settings


@contextlib.contextmanager
def settings_for(use_emulator: bool, **overrides: Any) -> Iterator[Settings]:
    """GIGACHAT_* settings, or (with --emulator) settings pointing at an emulator that lives for the block."""
    if not use_emulator:
        yield Settings.resolve(**overrides)
        return
    from ..emulator import Emulator

    with Emulator(chunk_delay=0.02) as emulator:
        keep = ("GIGACHAT_API_VERSION", "GIGACHAT_MODEL")  # which contract and model to emulate
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIGACHAT_") or k in keep}
        yield Settings.resolve(environ=env, **emulator.client_settings(token_cache="memory", **overrides))


def has_credentials() -> bool:
    return any(os.environ.get(f"GIGACHAT_{name}") for name in ("CREDENTIALS", "ACCESS_TOKEN", "PASSWORD", "CERT_FILE"))


def fail(message: str) -> int:
    print(f"gigachat-mcp: {message}", file=sys.stderr)
    return 1
