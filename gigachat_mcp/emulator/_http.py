"""What every endpoint group shares: the API roots, a line of the routing table, a call as a handler sees it,
and the service's error body, so each shape is spelled once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import API
    from ._server import Connection

__all__ = ["API_V1", "API_V2", "AUTH", "Call", "Handler", "Route", "json_object", "send_error", "service_error"]

API_V1 = "(?:/api)?/v1"  # the new host's root, and the legacy host's /api/v1
API_V2 = "(?:/api)?/v2"
AUTH = "/api/v2"  # the OAuth server's root: only the legacy spelling


@dataclass
class Call:
    """One request as a handler sees it: where to answer, the body, who sent it and the path's parameters."""

    conn: Connection
    body: bytes
    endpoint: str
    owner: str = ""  # the token's owner; empty on the routes that hand tokens out
    params: dict[str, str] = field(default_factory=dict)


Handler = Callable[["API", Call], None]


def service_error(status: int, message: str, code: int | None = None) -> dict[str, Any]:
    """The API's error body; `code` belongs to the OAuth server's shape and is not part of this one."""
    return {"status": status, "message": message}


def send_error(conn: Connection, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    conn.send_json(status, service_error(status, message), headers)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not valid JSON or not an object."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass
class Route:
    """One line of the routing table: method, root and path pattern (named groups become the call's params), the
    endpoint name that faults and the request log use, and the handler."""

    method: str
    root: str
    path: str
    endpoint: str
    handler: Handler
    public: bool = False  # answered without a bearer token: the routes that hand tokens out
    binary: bool = False  # the body stays out of the request log (an upload's bytes)
    error_body: Callable[[int, str, int | None], dict[str, Any]] = service_error  # the shape of a queued fault
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.root + self.path)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path) if method == self.method else None
        return found.groupdict() if found is not None else None
