"""`gigachat-mcp serve`: the MCP server over stdio (default) or streamable HTTP (one process, or a team server)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .. import Settings

from ._common import USAGE, fail, settings_for
from ._optional import redis_missing
from ._signals import clean_up_on

CAP_VARIABLE = "GIGACHAT_MCP_CONVERSATIONS_PER_USER"
DEFAULT_CAP = 100
TEAM_FLAGS = ("redis", "auth_tokens", "oauth_issuer", "allowed_host", "insecure_no_auth", "requests_per_minute",
              "streams_per_user", "allowed_origin")


def run(args: argparse.Namespace) -> int:
    from ..server import build_server

    if getattr(args, "log_format", "text") == "json":
        from ..server.http.logs import use_json_logs

        use_json_logs()
    http = args.transport == "streamable-http"
    try:
        cap = conversations_per_user(args)
    except ValueError as exc:
        return fail(str(exc), USAGE)
    if http:  # --allowed-origin and GIGACHAT_MCP_ALLOWED_ORIGINS (the variable is ignored over stdio)
        from ..server.http.cors import allowed_origins

        try:
            args.allowed_origin = allowed_origins(getattr(args, "allowed_origin", None))
        except ValueError as exc:
            return fail(str(exc), USAGE)
    if http and not _port_is_free(args.host, args.port):
        return fail(f"port {args.port} on {args.host} is already in use: stop what holds it, or pick another with "
                    "--port.", USAGE)
    with contextlib.ExitStack() as stack:
        # without --emulator a bad GIGACHAT_* value is reported by the tools, so a host can show it
        settings = stack.enter_context(settings_for(True)) if args.emulator else None
        if not http:
            if any(getattr(args, name, None) for name in TEAM_FLAGS):
                return fail("--redis, --auth-tokens, --oauth-issuer, --allowed-host, --allowed-origin and the limits "
                            "apply to --transport streamable-http only.", USAGE)
            # A host ends stdio by closing stdin, or by a signal. mcp reads stdin in a worker thread that only an
            # EOF ends, so no orderly shutdown can finish: on Ctrl-C too, run the exit hooks and go.
            with clean_up_on("SIGINT"):  # the client runs on this machine: its roots name our directories
                build_server(settings, trust_client_roots=True, max_conversations=cap).run()
            return 0
        if not _team_requested(args):  # one process, as before: nothing more on the path
            server = build_server(settings, max_conversations=cap)
            # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, then raises them again
            with contextlib.suppress(KeyboardInterrupt):
                server.run(transport="streamable-http", host=args.host, port=args.port)
            return 0
        return _serve_team(args, settings, cap)


def conversations_per_user(args: argparse.Namespace) -> int:
    """The per-principal conversation cap: --conversations-per-user, else the variable, else 100."""
    raw = getattr(args, "conversations_per_user", None)
    if raw is None:
        raw = os.environ.get(CAP_VARIABLE) or None
    if raw is None:
        return DEFAULT_CAP
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"--conversations-per-user (or {CAP_VARIABLE}) must be a whole number of 1 or more, not "
                         f"{raw!r}: how many conversations each user keeps (default {DEFAULT_CAP}).")
    return value


def _team_requested(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) for name in TEAM_FLAGS) or args.host not in ("127.0.0.1", "localhost", "::1")


def _serve_team(args: argparse.Namespace, settings: Settings | None, cap: int) -> int:
    from .. import ConfigError, Settings
    from ..server import build_server
    from ..server.http.serving import ExposureRefused, HttpOptions, check_exposure, serve_http
    from ..server.state import open_state

    options = HttpOptions(host=args.host, port=args.port, allowed_hosts=list(args.allowed_host or []),
                          grace=args.grace, authenticated=bool(args.auth_tokens or args.oauth_issuer),
                          insecure_no_auth=args.insecure_no_auth, allowed_origins=list(args.allowed_origin or []))
    try:
        check_exposure(options)
    except ExposureRefused as exc:
        return fail(str(exc), USAGE)
    auth: tuple[Any, Any] | None = None
    if args.auth_tokens and args.oauth_issuer:
        return fail("Use either --auth-tokens or --oauth-issuer, not both.", USAGE)
    if args.auth_tokens:
        from ..server.http.auth import AuthFileError, static_auth

        try:
            auth = static_auth(args.auth_tokens, args.public_url)
        except AuthFileError as exc:
            return fail(str(exc), USAGE)
    elif args.oauth_issuer:
        if not args.public_url:
            return fail("--oauth-issuer needs --public-url: the URL clients use for this server (the tokens' "
                        "audience), e.g. https://gigachat.example.com/mcp", USAGE)
        from ..server.http.auth import oauth_auth

        auth = oauth_auth(args.oauth_issuer, args.public_url, list(args.oauth_scope or []))
    if settings is None:
        with contextlib.suppress(ConfigError):
            settings = Settings.resolve()
    redis_url = args.redis or os.environ.get("GIGACHAT_MCP_REDIS_URL")
    if missing := redis_missing(redis_url):
        return fail(missing, USAGE)
    if redis_url and (problem := _redis_problem(redis_url)):
        return fail(problem, USAGE)
    state = open_state(redis_url=redis_url, prefix=args.redis_prefix, settings=settings, max_conversations=cap,
                       requests_per_minute=args.requests_per_minute, streams_per_principal=args.streams_per_user,
                       lease=args.lease_seconds)
    server = build_server(settings, state=state, auth=auth)
    with contextlib.suppress(KeyboardInterrupt):
        serve_http(server, state, settings, options)
    return 0


def _redis_problem(url: str) -> str | None:
    """A --redis URL that cannot work (malformed, a wrong password, an untrusted certificate), in one line."""
    from ..server.state.redis_connect import startup_problem
    from ..server.state.redis_link import safe_url

    return startup_problem(url, safe_url(url))


def _port_is_free(host: str, port: int) -> bool:
    """Bound the way uvicorn binds (SO_REUSEADDR), so a port in TIME_WAIT counts as free, a listener does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # let the server report a bad host itself
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True
