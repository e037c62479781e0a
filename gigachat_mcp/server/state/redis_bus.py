"""A SubscriptionBus over Redis pub/sub, so subscribers on every replica hear about changes made on any.

Local listeners are told at once (no round trip); the event also goes to one Redis channel, and each replica's
reader task tells its own listeners (2026 `subscriptions/listen` streams) and its 2025-era `resources/subscribe`
sessions (`on_remote`) about events that came from other replicas. The reader reconnects by itself.

Stops travel on the same channel: a replica asked to stop an answer it is not streaming publishes the conversation
id and the asking principal (`request_stop`), and the replica streaming it stops its turn when that principal owns
the conversation (`relay_stops`), so Stop works behind a load balancer without sticky sessions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)

from .interfaces import RemoteListener, StopHere
from .redis_link import UNREACHABLE, RedisLink
from .subscriptions import OwnedUpdate

__all__ = ["RedisSubscriptionBus"]

log = logging.getLogger("gigachat_mcp.server")
_KINDS: dict[str, Any] = {"tools": ToolsListChanged, "prompts": PromptsListChanged,
                          "resources": ResourcesListChanged}


class RedisSubscriptionBus:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.channel = link.key("events")
        self._listeners: dict[object, Callable[[ServerEvent], None]] = {}
        self._remote: list[RemoteListener] = []
        self._stop: StopHere | None = None
        self.connected = anyio.Event()  # set once the reader listens (tests and /readyz wait on it)
        self._own = json.dumps({"o": link.replica})[:-1].encode()  # how this replica's messages begin

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def on_remote(self, listener: RemoteListener) -> None:
        self._remote.append(listener)

    def relay_stops(self, stop_here: StopHere) -> None:
        """Who stops this replica's turns when another replica relays a stop: `stop_here(conversation_id,
        principal)` stops the turn only when that principal owns it, and says whether it did."""
        self._stop = stop_here

    async def request_stop(self, conversation_id: str, owner: str | None) -> bool:
        """Ask the replica streaming the conversation to stop it, for `owner` (who was checked to own it here).
        False when Redis cannot be reached (the answer goes on)."""
        payload = {"o": self.link.replica, "s": conversation_id, "w": owner}
        try:
            self.link.round_trips += 1
            await self.link.redis.publish(self.channel, json.dumps(payload))
        except UNREACHABLE as exc:
            self.link.warn("relaying a stop", exc)
            return False
        return True

    async def publish(self, event: ServerEvent) -> None:
        self.tell_local(event)
        await self.publish_remote(event)

    async def publish_remote(self, event: ServerEvent) -> None:
        try:
            self.link.round_trips += 1
            await self.link.redis.publish(self.channel, self._encode(event))
        except UNREACHABLE as exc:  # subscribers elsewhere miss this one; the next change tells them
            self.link.warn("publishing a change", exc)

    def queue(self, pipe: Any, event: ServerEvent) -> None:
        """Add the event's PUBLISH to a pipeline about to be sent (the store's save): one round trip for both."""
        pipe.publish(self.channel, self._encode(event))

    def queue_many(self, pipe: Any, events: list[ServerEvent]) -> None:
        """One PUBLISH for the changes of many conversations (a group commit of answers in flight)."""
        updates = [_update(event) for event in events if isinstance(event, ResourceUpdated)]
        if updates:
            pipe.publish(self.channel, json.dumps({"o": self.link.replica, "e": updates}))

    def _encode(self, event: ServerEvent) -> str:
        if isinstance(event, ResourceUpdated):
            payload: dict[str, Any] = {"o": self.link.replica, **_update(event)}
        else:
            payload = {"o": self.link.replica, "k": next(k for k, c in _KINDS.items() if isinstance(event, c))}
        return json.dumps(payload)

    def tell_local(self, event: ServerEvent) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one bad listener must not starve the others
                log.exception("subscription listener raised; continuing")

    async def _updated(self, update: dict[str, Any]) -> None:
        uri = str(update["u"])
        self.tell_local(OwnedUpdate(uri=uri, owner=update["w"]) if "w" in update else ResourceUpdated(uri=uri))
        for listener in self._remote:
            try:
                await listener(uri)
            except Exception:  # noqa: BLE001
                log.exception("remote change listener raised; continuing")

    async def run(self) -> None:
        """The reader: one subscription per replica, re-made after Redis comes back."""
        delay = 0.1
        while True:
            try:
                pubsub = self.link.redis.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                    self.connected.set()
                    delay = 0.1
                    async for message in pubsub.listen():
                        await self._received(message)
                finally:
                    with anyio.CancelScope(shield=True):
                        await pubsub.aclose()
            except UNREACHABLE as exc:
                self.link.warn("listening for changes", exc)
                self.connected = anyio.Event()
            await anyio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _received(self, message: dict[str, Any]) -> None:
        try:
            data = message["data"]
            if data.startswith(self._own):  # our own change, back from Redis: dropped before parsing it
                return
            payload = json.loads(data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return
        if payload.get("o") == self.link.replica:
            return
        if "s" in payload:
            if self._stop is not None:
                self._stop(str(payload["s"]), payload.get("w"))
        elif "u" in payload:
            await self._updated(payload)
        elif isinstance(payload.get("e"), list):
            for update in payload["e"]:
                if isinstance(update, dict) and "u" in update:
                    await self._updated(update)
        elif payload.get("k") in _KINDS:
            self.tell_local(_KINDS[payload["k"]]())


def _update(event: ResourceUpdated) -> dict[str, Any]:
    """A conversation's change as the channel carries it: its URI, and its owner when known."""
    update: dict[str, Any] = {"u": event.uri}
    if isinstance(event, OwnedUpdate):
        update["w"] = event.owner
    return update
