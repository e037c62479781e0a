"""The routing table: every endpoint group the emulator serves, each a module with its ROUTES.

A new group (say `/batches`) is a module with its handlers and ROUTES, named once in GROUPS; faults can then
name its endpoints, and the request log records them.
"""

from __future__ import annotations

from .._http import Route
from . import batches, chat_v1, chat_v2, files, info, oauth

__all__ = ["ENDPOINTS", "ROUTES", "match"]

GROUPS = (oauth, chat_v1, chat_v2, info, files, batches)
ROUTES: tuple[Route, ...] = tuple(route for group in GROUPS for route in group.ROUTES)
ENDPOINTS = tuple(dict.fromkeys(route.endpoint for route in ROUTES))  # the names faults and the request log use


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request and its path parameters; None when the service has no such endpoint."""
    for route in ROUTES:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None
