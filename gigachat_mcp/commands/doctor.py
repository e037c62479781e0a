"""`gigachat-mcp doctor`: walk from settings to a chat, one step at a time, and print the fix for what fails.

Steps: configuration (which variables are set, never their values), CA trust, DNS and a TLS handshake for the
auth and API hosts, a token, the model list, one short chat. A step that cannot run because an earlier one
failed is skipped, with the reason.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .. import ConfigError, GigaChat, GigaChatError, Settings
from ._common import settings_for

SECRET_NAMES = ("GIGACHAT_CREDENTIALS", "GIGACHAT_ACCESS_TOKEN", "GIGACHAT_PASSWORD", "GIGACHAT_KEY_FILE_PASSWORD",
                "GIGACHAT_PROXY")  # a proxy URL may carry a password: shown redacted on its own line


class Report:
    def __init__(self) -> None:
        self.failed = False
        self.misconfigured = False  # a failure the user fixes in the settings: exit 2, like every command

    def line(self, status: str, step: str, detail: str, fix: str | None = None) -> None:
        print(f"[{status:>4}] {step}: {detail}", flush=True)
        if fix:
            print(f"       fix: {fix}", flush=True)
        self.failed |= status == "FAIL"

    def check(self, step: str, action: Callable[[], str]) -> bool:
        try:
            self.line("ok", step, action())
            return True
        except GigaChatError as exc:
            self.line("FAIL", step, type(exc).__name__, str(exc))
        except OSError as exc:
            self.line("FAIL", step, f"{type(exc).__name__}: {exc}", "Check the network, DNS and any proxy.")
        return False


def run(args: argparse.Namespace) -> int:
    report = Report()
    print("gigachat-mcp doctor" + (" (against the built-in emulator)" if args.emulator else ""), flush=True)
    _environment(report, args.emulator)
    try:
        with settings_for(args.emulator) as settings:
            _diagnose(report, settings)
    except ConfigError as exc:
        report.line("FAIL", "settings", "invalid", str(exc))
        report.misconfigured = True
    print("All checks passed." if not report.failed else "Some checks failed: apply the fixes above and re-run.")
    return (2 if report.misconfigured else 1) if report.failed else 0


def _environment(report: Report, emulated: bool) -> None:
    present = sorted(name for name in os.environ if name.startswith("GIGACHAT_") and os.environ[name])
    shown = ", ".join(f"{name}=***" if name in SECRET_NAMES else name for name in present) or "none"
    report.line("info", "environment", f"GIGACHAT_* set: {shown}" + (" (ignored: --emulator)" if emulated else ""))


def _diagnose(report: Report, settings: Settings) -> None:
    method = settings.auth_method
    if method == "none":
        report.misconfigured = True
        report.line("FAIL", "credentials", "none set",
                    "Set GIGACHAT_CREDENTIALS to your authorization key (GigaChat Studio -> project -> API keys; "
                    "keep it out of notebooks and shell history, e.g. put it in your MCP host's env block), and "
                    "GIGACHAT_SCOPE=GIGACHAT_API_B2B or GIGACHAT_API_CORP for business keys. "
                    "To try everything without a key: gigachat-mcp doctor --emulator")
    else:
        report.line("ok", "credentials", f"{method} ({settings.scope})" if method == "oauth" else method)
    report.line("info", "endpoints", f"API {settings.base_url} ({settings.api_version}), OAuth {settings.auth_url}")

    from ..client._tls import trust_report  # doctor is part of this package; it may look inside

    trust = trust_report(settings)
    if trust.verify:
        report.line("ok" if trust.russian_root_loaded else "FAIL", "trust",
                    f"{trust.roots} roots from {', '.join(trust.sources)}; Russian Trusted Root CA "
                    + ("present" if trust.russian_root_loaded else "MISSING"),
                    None if trust.russian_root_loaded else "Reinstall gigachat-mcp: its bundled root is missing.")
    else:
        report.line("warn", "trust", "certificate verification is OFF (GIGACHAT_VERIFY_SSL_CERTS=false)",
                    "Remove GIGACHAT_VERIFY_SSL_CERTS; set GIGACHAT_CA_BUNDLE_FILE for a private CA instead.")
    hosts = {urlsplit(settings.base_url).netloc: settings.base_url}
    if method in ("oauth",):
        hosts.setdefault(urlsplit(settings.auth_url).netloc, settings.auth_url)
    reachable = all([_route(report, settings, url) for url in hosts.values()])
    if method == "none" or not reachable:
        reason = "no credentials" if method == "none" else "a host is unreachable"
        for step in ("token", "models", "chat"):
            report.line("skip", step, reason)
        return
    with GigaChat(settings.replace(max_retries=0)) as giga:
        if not report.check("token", lambda: _token(giga)):
            report.line("skip", "models", "no token")
            report.line("skip", "chat", "no token")
            return
        report.check("models", lambda: _models(giga))
        report.check("chat", lambda: _chat(giga))


def _route(report: Report, settings: Settings, url: str) -> bool:
    """Through a proxy (shown without its credentials; the token and chat steps then test the way), or direct."""
    from ..client._proxy import proxy_for, redact_proxy

    proxy = proxy_for(settings.proxy, settings.no_proxy, url)
    if proxy is None:
        return _host(report, settings, url)
    source = settings.named("proxy") if settings.proxy else "HTTPS_PROXY"
    report.line("info", f"proxy {urlsplit(url).netloc}", f"through {redact_proxy(proxy)} ({source}); the steps "
                                                          "below test the way through it")
    return True


def _host(report: Report, settings: Settings, url: str) -> bool:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
    except OSError as exc:
        report.line("FAIL", f"dns {host}", str(exc), "Check the host name in the URL, your DNS and VPN.")
        return False
    report.line("ok", f"dns {host}", ", ".join(addresses[:3]))
    if parts.scheme != "https":
        report.line("warn", f"tls {host}:{port}", "plain HTTP: nothing is encrypted")
        return True
    from ..client._tls import ssl_context_for, tls_error_from

    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=settings.timeout) as raw:
            with ssl_context_for(settings).wrap_socket(raw, server_hostname=host) as tls:
                peer: dict[str, Any] = dict(tls.getpeercert() or {})
    except (ssl.SSLError, OSError) as exc:
        error = tls_error_from(exc, url)
        report.line("FAIL", f"tls {host}:{port}", type(exc).__name__,
                    str(error) if error else f"{exc}. Check the port, a firewall or proxy.")
        return False
    issuer = dict(item[0] for item in peer.get("issuer", ())).get("commonName", "unverified")
    report.line("ok", f"tls {host}:{port}", f"handshake in {(time.perf_counter() - started) * 1000:.0f} ms, "
                                            f"issuer {issuer}")
    return True


def _token(giga: GigaChat) -> str:
    header = giga._auth.header()  # noqa: SLF001 - the doctor checks this step on its own
    return "obtained" if header else "not needed (client certificate)"


def _models(giga: GigaChat) -> str:
    models = giga.models()
    chat = [m.id for m in models if m.type == "chat"]
    if giga.settings.model not in chat:
        raise ConfigError(f"GIGACHAT_MODEL={giga.settings.model!r} is not offered to this key. "
                          f"Chat models: {', '.join(chat)}.")
    return f"{len(models)} models; {giga.settings.model} available"


def _chat(giga: GigaChat) -> str:
    started = time.perf_counter()
    result = giga.chat("ping", max_tokens=16)
    return f"{result.model} answered in {(time.perf_counter() - started) * 1000:.0f} ms ({result.usage.total_tokens} tokens)"
