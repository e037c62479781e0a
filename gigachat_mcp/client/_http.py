"""httpx plumbing: client options from settings, and httpx exceptions turned into GigaChatErrors."""

from __future__ import annotations

from typing import Any

import httpx

from .._version import __version__
from ._body import ACCEPT_ENCODING
from ._errors import GigaChatConnectionError, GigaChatError, GigaChatTimeoutError
from ._proxy import proxy_options
from ._settings import Settings
from ._tls import ssl_context_for, tls_error_from

__all__ = ["NOT_SENT", "USER_AGENT", "client_options", "transport_error"]

# Failures that happen before any byte of the request reaches the server (a proxy refusing the tunnel too).
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)

USER_AGENT = f"gigachat-mcp/{__version__}"


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for httpx.Client / AsyncClient. The SSL context is always ours, never a path string."""
    limits = httpx.Limits(max_connections=settings.max_connections or 100, max_keepalive_connections=20)
    return {
        "verify": ssl_context_for(settings),
        "timeout": httpx.Timeout(settings.timeout),
        "limits": limits,
        "headers": {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        "follow_redirects": False,
        **proxy_options(settings.proxy, settings.no_proxy),
    }


def transport_error(exc: httpx.HTTPError, url: str, timeout: float) -> GigaChatError:
    """The typed error for a failure below HTTP: TLS, timeouts, refused or dropped connections."""
    host = httpx.URL(url).host
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting to",
            httpx.ReadTimeout: "waiting for data from",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting for a free connection to",
        }.get(type(exc), "talking to")
        return GigaChatTimeoutError(
            f"Timed out after {timeout:g} s {phase} {host}. Raise GIGACHAT_TIMEOUT for long answers, "
            "or check the network and GIGACHAT_BASE_URL."
        )
    tls = tls_error_from(exc, url)
    if tls is not None:
        return tls
    if isinstance(exc, httpx.ProxyError):
        return GigaChatConnectionError(
            f"The proxy would not connect to {host} ({_reason(exc)}). Check GIGACHAT_PROXY (or HTTPS_PROXY): its "
            "address, and the user and password in it if the proxy asks for them (407)."
        )
    if isinstance(exc, httpx.ConnectError):
        return GigaChatConnectionError(
            f"Could not connect to {host} ({_reason(exc)}). Check the network, a proxy (GIGACHAT_PROXY, "
            "HTTPS_PROXY) and GIGACHAT_BASE_URL / GIGACHAT_AUTH_URL."
        )
    return GigaChatConnectionError(f"The connection to {host} failed ({_reason(exc)}). It may work on a retry.")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    while not text and exc.__cause__ is not None:
        exc = exc.__cause__
        text = str(exc).strip()
    return text or type(exc).__name__
