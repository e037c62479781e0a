"""Secrets never reach a log line: a filter on every root handler masks the configured credentials."""

from __future__ import annotations

import logging

from .. import Settings

__all__ = ["install_redaction"]


class _Redact(logging.Filter):
    """Masks the configured secrets in every log record, as a last line of defence."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, None
        return True


def install_redaction(settings: Settings | None) -> None:
    """One filter per handler, holding the secrets of every server built in this process."""
    if settings is None or not settings.secrets:
        return
    for handler in logging.getLogger().handlers:
        redact = next((f for f in handler.filters if isinstance(f, _Redact)), None)
        if redact is None:
            redact = _Redact()
            handler.addFilter(redact)
        redact.secrets.update(settings.secrets)
