"""What several commands share: settings from the environment or an emulator, and the one exit-code rule.

Exit codes (README, `--help`): 0 ok; 1 GigaChat or the network failed; 2 usage: bad arguments, bad or missing
GIGACHAT_* settings, a port already in use; 130 interrupted. Every failure is one line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from .. import ConfigError, GigaChatError, InvalidRequestError, Settings

FAILED = 1
USAGE = 2
INTERRUPTED = 130
LIST_MODELS = "`gigachat-mcp models`"


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


def fail(message: str, code: int = FAILED) -> int:
    print(f"gigachat-mcp: {message}", file=sys.stderr)
    return code


def report(exc: GigaChatError) -> int:
    """One line for a library error; usage (2) when the caller can fix it in the command or the settings."""
    code = USAGE if isinstance(exc, (ConfigError, InvalidRequestError)) else FAILED
    return fail(exc.message_for(list_models=LIST_MODELS), code)


def require_credentials(settings: Settings, command: str) -> None:
    """Fail before any request, naming both ways forward: a key, or this command's --emulator."""
    if settings.auth_method == "none":
        from ..client._auth import MISSING_CREDENTIALS

        raise ConfigError(f"{MISSING_CREDENTIALS} To try it without a key: gigachat-mcp {command} --emulator")
