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
    if action == "settings" and conn.command == "POST":
        return _settings(api, conn, body)
    if action == "concurrency":
        if conn.command == "POST":
            api.reset_concurrency()
        return conn.send_json(200, {"in_flight": api.in_flight, "max_in_flight": api.max_in_flight})
    conn.send_json(404, {"error": "unknown control endpoint"})


def _settings(api: API, conn: Connection, body: bytes) -> None:
    """{"latency": seconds per API request, "batch_delay": seconds a batch takes}; either may be left out."""
    try:
        changes = json.loads(body or b"{}")
        for name in ("latency", "batch_delay"):
            if name in changes:
                value = float(changes[name])
                if not value >= 0:
                    raise ValueError(f"{name} must be 0 or more")
                setattr(api, name, value)
    except (ValueError, TypeError, AttributeError) as exc:
        return conn.send_json(400, {"error": str(exc)})
    conn.send_json(200, {"latency": api.latency, "batch_delay": api.batch_delay})
