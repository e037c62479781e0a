"""An explicit HTTP CONNECT proxy (GIGACHAT_PROXY / proxy=) for OAuth and the API alike, with NO_PROXY honoured,
and proxy URLs shown without their credentials wherever they are named.

Without GIGACHAT_PROXY, httpx's own HTTPS_PROXY / ALL_PROXY / NO_PROXY handling applies unchanged."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["bypass_patterns", "check_proxy", "proxy_for", "proxy_options", "proxy_password", "redact_proxy"]


def redact_proxy(url: str) -> str:
    """The URL with any user name and password replaced by ***, for messages, reprs and `doctor`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def proxy_password(url: str | None) -> tuple[str, ...]:
    """The proxy's password as written and decoded: secrets to keep out of logs."""
    if not url or "@" not in url:
        return ()
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return tuple({password, unquote(password)} - {""})


def check_proxy(url: str, named: str) -> str | None:
    """None when `url` is a usable CONNECT proxy URL, else the sentence saying what is wrong (redacted)."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number
        usable = False
    if usable:
        return None
    return (f"{named}={redact_proxy(url)!r} is not an HTTP proxy URL: write it as http://HOST:PORT, with "
            "credentials if the proxy needs them (http://USER:PASSWORD@HOST:PORT).")


def bypass_patterns(no_proxy: str | None) -> list[str] | None:
    """NO_PROXY as httpx mount patterns, by curl's rules as httpx reads them: a host also covers its subdomains,
    `localhost` and IP addresses only themselves (so NO_PROXY=localhost does not cover 127.0.0.1). None for `*`
    (no proxy at all)."""
    patterns: list[str] = []
    for entry in (item.strip() for item in (no_proxy or "").split(",")):
        if entry == "*":
            return None
        if not entry:
            continue
        if "://" in entry:
            patterns.append(entry)
        elif _is_ip(entry):
            patterns.append(f"all://[{entry}]" if ":" in entry else f"all://{entry}")
        elif entry.lower() == "localhost":
            patterns.append("all://localhost")
        else:
            patterns.append(f"all://*{entry}")
    return patterns


def proxy_options(proxy: str | None, no_proxy: str | None) -> dict[str, Any]:
    """httpx.Client keyword arguments for GIGACHAT_PROXY: every host through it, but those NO_PROXY names."""
    if not proxy:
        return {}
    patterns = bypass_patterns(no_proxy)
    if patterns is None:
        return {"trust_env": False}  # NO_PROXY=*: straight to every host, HTTPS_PROXY ignored too
    # an explicit proxy replaces HTTPS_PROXY; a None mount sends that host without a proxy
    return {"proxy": proxy, "mounts": dict.fromkeys(patterns)}


def proxy_for(proxy: str | None, no_proxy: str | None, url: str) -> str | None:
    """The proxy a request to `url` goes through (GIGACHAT_PROXY, else HTTPS_PROXY and the like), or None; matched
    with httpx's own patterns, so this says what the clients do."""
    import httpx  # loaded with the first client, not with the package (Settings imports this module)
    from httpx._utils import URLPattern, get_environment_proxies

    if proxy:
        patterns = bypass_patterns(no_proxy)
        if patterns is None:
            return None
        table: dict[str, str | None] = {"all://": proxy, **dict.fromkeys(patterns)}
    else:
        table = get_environment_proxies()
    target = httpx.URL(url)
    for pattern, value in sorted(((URLPattern(k), v) for k, v in table.items()), key=lambda item: item[0]):
        if pattern.matches(target):
            return value
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
