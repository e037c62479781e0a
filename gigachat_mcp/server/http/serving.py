"""Serving a team server over streamable HTTP: exposure rules, health, Host checks, and a graceful SIGTERM.

- Beyond loopback without authentication the server refuses to start unless --insecure-no-auth says so.
- `/healthz` (the process answers) and `/readyz` (Redis reachable, a GigaChat token obtainable, not draining)
  need no auth and show no secret.
- SIGTERM: new chats are refused (readyz turns 503 so the balancer moves on), answers in flight get `grace`
  seconds to finish, then whatever still streams is recorded as cancelled with its partial text and returned to
  its caller, and the server stops (see drain.py). A second SIGTERM exits at once.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..state.interfaces import SharedState
from .cors import with_cors, with_origins
from .drain import draining_server

__all__ = ["ExposureRefused", "HttpOptions", "check_exposure", "serve_http"]

log = logging.getLogger("gigachat_mcp.server")


class ExposureRefused(Exception):
    """Serving this way would let anyone who reaches the port spend the GigaChat key."""


@dataclass
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: list[str] = field(default_factory=list)
    grace: float = 30.0
    authenticated: bool = False
    insecure_no_auth: bool = False
    allowed_origins: list[str] = field(default_factory=list)  # browser pages given CORS (cors.py)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(options: HttpOptions) -> None:
    if is_loopback(options.host) or options.authenticated or options.insecure_no_auth:
        return
    raise ExposureRefused(
        f"Refusing to serve on {options.host} without authentication: anyone who reaches the port could spend "
        "your GigaChat key. Add --auth-tokens FILE or --oauth-issuer URL --public-url URL, or serve on "
        "127.0.0.1 behind your own proxy; pass --insecure-no-auth only if the network itself is trusted.")


def transport_security(options: HttpOptions) -> Any:
    """The SDK's DNS-rebinding protection: loopback names always, plus each --allowed-host (any port)."""
    from mcp.server.transport_security import TransportSecuritySettings

    if not options.allowed_hosts:
        return None  # the SDK's default: protection on for a loopback bind
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for name in options.allowed_hosts:
        hosts += [name, f"{name}:*"]
        origins += [f"https://{name}", f"http://{name}", f"https://{name}:*", f"http://{name}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


def add_health_routes(server: Any, state: SharedState, settings: Any) -> None:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    token_checked = {"at": 0.0}
    client: dict[str, Any] = {}

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "backend": state.backend})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(request: Request) -> JSONResponse:
        problems: list[str] = []
        if state.draining:
            problems.append("shutting down")
        if state.ready is not None:
            problem = await state.ready()
            if problem:
                problems.append(problem)
        if settings is None:
            problems.append("GigaChat settings are invalid (see the server log)")
        elif time.monotonic() - token_checked["at"] > 30:
            try:
                if "c" not in client:
                    from ... import AsyncGigaChat

                    client["c"] = AsyncGigaChat(settings, shared_tokens=state.shared_tokens)
                await client["c"].models()
                token_checked["at"] = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the reason's type only: messages could name hosts
                problems.append(f"GigaChat unreachable or credentials refused ({type(exc).__name__})")
        if problems:
            return JSONResponse({"status": "unready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "backend": state.backend})


def serve_http(server: Any, state: SharedState, settings: Any, options: HttpOptions) -> None:
    """Run until SIGTERM/SIGINT, draining answers in flight first."""
    import anyio
    import uvicorn

    check_exposure(options)
    add_health_routes(server, state, settings)
    app = server.streamable_http_app(host=options.host, transport_security=with_origins(
        transport_security(options), options.host, options.allowed_origins))
    app = with_cors(app, options.allowed_origins)  # browser-based hosts on --allowed-origin
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning",
                            timeout_graceful_shutdown=2, lifespan="on")
    uvicorn_server = draining_server(config, state, options.grace)

    async def main() -> None:
        uvicorn_server.remember_loop()  # the drain thread stops the answers left after the grace period here
        try:
            await uvicorn_server.serve()
        finally:
            for close in state.closers:
                await close()

    anyio.run(main)
