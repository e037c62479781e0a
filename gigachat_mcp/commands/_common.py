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
REPLACED_BY_THE_EMULATOR = frozenset(f"GIGACHAT_{name}" for name in (
    "CREDENTIALS", "SCOPE", "ACCESS_TOKEN", "USER", "PASSWORD", "CERT_FILE", "KEY_FILE", "KEY_FILE_PASSWORD",
    "BASE_URL", "AUTH_URL", "CA_BUNDLE_FILE", "VERIFY_SSL_CERTS", "TOKEN_CACHE"))


@contextlib.contextmanager
def settings_for(use_emulator: bool, **overrides: Any) -> Iterator[Settings]:
    """GIGACHAT_* settings, or (with --emulator) settings pointing at an emulator that lives for the block."""
    if not use_emulator:
        yield Settings.resolve(**overrides)
        return
    from ..emulator import Emulator

    with Emulator(chunk_delay=0.02) as emulator:
        # the emulator replaces who you are and where you connect; everything else (model, contract, timeouts,
        # file roots, drawing, ...) is still yours, and a bad value is still refused
        env = {k: v for k, v in os.environ.items() if k not in REPLACED_BY_THE_EMULATOR}
        yield Settings.resolve(environ=env, **emulator.client_settings(token_cache="memory", **overrides))


def has_credentials() -> bool:
    return any(os.environ.get(f"GIGACHAT_{name}") for name in ("CREDENTIALS", "ACCESS_TOKEN", "PASSWORD", "CERT_FILE"))


def fail(message: str, code: int = FAILED) -> int:
    print(f"gigachat-mcp: {message}", file=sys.stderr)
    return code


def report(exc: GigaChatError, emulator: bool = False) -> int:
    """One line for a library error; usage (2) when the caller can fix it in the command or the settings.
    With --emulator the way to list models is `models --emulator` (plain `models` would want a key)."""
    code = USAGE if isinstance(exc, (ConfigError, InvalidRequestError)) else FAILED
    list_models = "`gigachat-mcp models --emulator`" if emulator else LIST_MODELS
    return fail(exc.message_for(list_models=list_models), code)


def require_credentials(settings: Settings, command: str) -> None:
    """Fail before any request, naming both ways forward: a key, or this command's --emulator."""
    if settings.auth_method == "none":
        from ..client._auth import MISSING_CREDENTIALS

        raise ConfigError(f"{MISSING_CREDENTIALS} To try it without a key: gigachat-mcp {command} --emulator")
