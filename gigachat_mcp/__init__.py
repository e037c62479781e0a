"""GigaChat from Python, AI assistants (MCP) and notebooks.

    from gigachat_mcp import GigaChat
    with GigaChat() as giga:                       # reads GIGACHAT_* from the environment
        for chunk in giga.stream("Hello!"):
            print(chunk.text, end="", flush=True)

This module is the public core API; it imports neither mcp nor IPython and does no I/O at import time.
"""

import logging as _logging

from ._version import __version__
from .client._client import AsyncGigaChat, GigaChat
from .client._errors import (
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
from .client._settings import Settings
from .client._types import ChatChunk, ChatResult, Model, TokenCount, Usage

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
    "__version__",
]

_logging.getLogger("gigachat_mcp").addHandler(_logging.NullHandler())
