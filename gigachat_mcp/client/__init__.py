"""The shared core: settings, TLS, tokens, wire formats and the two clients. Imports neither mcp nor IPython."""

from ._client import AsyncGigaChat, GigaChat
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    GigaChatConnectionError,
    GigaChatError,
    GigaChatTimeoutError,
    InvalidRequestError,
    RateLimitError,
    StreamError,
    TLSError,
)
from ._settings import Settings
from ._types import ChatChunk, ChatResult, Model, TokenCount, Usage

__all__ = [
    "APIError",
    "AsyncGigaChat",
    "AuthenticationError",
    "ChatChunk",
    "ChatResult",
    "ConfigError",
    "GigaChat",
    "GigaChatConnectionError",
    "GigaChatError",
    "GigaChatTimeoutError",
    "InvalidRequestError",
    "Model",
    "RateLimitError",
    "Settings",
    "StreamError",
    "TLSError",
    "TokenCount",
    "Usage",
]
