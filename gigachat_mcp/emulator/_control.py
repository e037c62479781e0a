"""`/_emulator/...`: the controls a separate process uses (queue faults, revoke tokens, read the stats); they
are not part of the service, so they pass no routing table, token check or fault."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ._faults import Fault

if TYPE_CHECKING:
    from ._api import API
    from ._server import Connection

__all__ = ["PREFIX", "control"]

PREFIX = "/_emulator/"


def control(api: API, conn: Connection, path: str, body: bytes) -> None:
    action = path.removeprefix(PREFIX)
    if action == "faults" and conn.command == "POST":
        try:
            items = json.loads(body or b"[]")
            for item in items if isinstance(items, list) else [items]:
                api.faults.add(Fault(**item))
        except (ValueError, TypeError) as exc:
            return conn.send_json(400, {"error": str(exc)})
        return conn.send_json(200, {"queued": len(api.faults)})
    if action == "revoke" and conn.command == "POST":
        api.revoke_tokens()
        return conn.send_json(200, {"revoked": True})
    if action == "stats":
        return conn.send_json(200, api.stats())
    conn.send_json(404, {"error": "unknown control endpoint"})
