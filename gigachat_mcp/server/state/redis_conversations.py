"""Conversations in Redis, readable from every replica while they stream.

Per conversation: a hash (owner, system, model, status, messages as JSON, version, ...), a string with the answer
in flight, and an "alive" key the writing replica keeps renewing. The answer grows by SETRANGE at the byte offset
already written, so the writes of an answer add up to its length (not its square) and a save repeated after a
lost reply writes the same bytes again. Turns start in a script that checks the conversation is not answering
and has not changed since it was read, so two replicas never run one conversation at once. A reader that finds a
conversation "streaming" whose alive key has expired (its replica died) turns it into `error`, keeping the
partial text. A sorted set per principal of its conversations by last use keeps the per-principal cap fleet-wide:
a conversation is made in a script that first drops that principal's least recently used ones whose alive key is
gone (idle, finished, or answered by a dead replica; never one still answering, never another principal's) and
refuses when none can go. A new conversation gets an alive key at once, so a burst of new chats cannot drop one
another before their turns begin. Every key has a TTL.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..conversations import Conversation
from ..http.telemetry import metrics
from .interfaces import ConversationBusy, ConversationCapReached
from .redis_files import hashed
from .redis_link import UNREACHABLE, RedisLink

__all__ = ["RedisConversations"]

log = logging.getLogger("gigachat_mcp.server")

DEAD_REPLICA = ("The server replica that was writing this answer stopped before it finished; the partial answer is "
                "kept. Ask again to continue.")

_BEGIN = """
local h, t, a, recent = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local status = redis.call('HGET', h, 'status')
if not status then return 'unknown' end
if status == 'queued' or status == 'streaming' then return 'busy' end
if redis.call('HGET', h, 'version') ~= ARGV[1] then return 'busy' end
redis.call('HSET', h, 'status', 'queued', 'model', ARGV[2], 'system', ARGV[3], 'messages', ARGV[4],
  'error', '', 'finish_reason', '', 'usage', '', 'length', '0', 'updated_at', ARGV[5], 'version', ARGV[1] + 1)
redis.call('DEL', t)
redis.call('SET', a, ARGV[6], 'PX', ARGV[7])
redis.call('PEXPIRE', h, ARGV[8])
redis.call('ZADD', recent, ARGV[5], ARGV[9])
redis.call('PEXPIRE', recent, ARGV[8])
return 'ok'
"""

_REAP = """
local h, t, a = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', h, 'status')
if (status ~= 'queued' and status ~= 'streaming') or redis.call('EXISTS', a) == 1 then return 0 end
local text = redis.call('GET', t)
if text and #text > 0 then
  local messages = cjson.decode(redis.call('HGET', h, 'messages'))
  messages[#messages + 1] = {role = 'assistant', content = text}
  redis.call('HSET', h, 'messages', cjson.encode(messages))
end
redis.call('HSET', h, 'status', 'error', 'error', ARGV[1], 'updated_at', ARGV[2],
  'version', redis.call('HGET', h, 'version') + 1)
redis.call('DEL', t)
return 1
"""

_CREATE = """
local h, a, recent = KEYS[1], KEYS[2], KEYS[3]
local prefix, cap = ARGV[1], tonumber(ARGV[2])
if redis.call('ZCARD', recent) >= cap then
  for _, id in ipairs(redis.call('ZRANGE', recent, 0, -1)) do
    local other = prefix .. ':c:' .. id
    if redis.call('EXISTS', other .. ':a') == 0 then
      redis.call('DEL', other, other .. ':t')
      redis.call('ZREM', recent, id)
      if redis.call('ZCARD', recent) < cap then break end
    end
  end
  if redis.call('ZCARD', recent) >= cap then return 0 end
end
redis.call('HSET', h, 'owner', ARGV[3], 'system', ARGV[4], 'status', 'idle', 'messages', '[]', 'version', '0',
  'updated_at', ARGV[5], 'length', '0')
redis.call('PEXPIRE', h, ARGV[6])
redis.call('SET', a, ARGV[7], 'PX', ARGV[8])
redis.call('ZADD', recent, ARGV[5], ARGV[9])
redis.call('PEXPIRE', recent, ARGV[6])
return 1
"""


@dataclass
class _Writing:
    """A conversation this replica is streaming: what of it Redis already has."""

    conversation: Conversation
    owner: str
    chars: int = 0
    bytes: int = 0
    status: str = ""


class RedisConversations:
    def __init__(self, link: RedisLink, *, max_conversations: int, max_messages: int, ttl: float,
                 lease: float) -> None:
        if max_conversations < 1 or max_messages < 2:
            raise ValueError("max_conversations must be >= 1 and max_messages >= 2")
        self.link = link
        self.max_conversations = max_conversations
        self.max_messages = max_messages
        self.ttl_ms = int(ttl * 1000)
        self.lease_ms = int(lease * 1000)
        self.writing: dict[str, _Writing] = {}
        self.unsaved: set[str] = set()  # finished while Redis was away: written by the heartbeat
        self._begin = link.redis.register_script(_BEGIN)
        self._reap = link.redis.register_script(_REAP)
        self._create = link.redis.register_script(_CREATE)

    def _keys(self, conversation_id: str) -> tuple[str, str, str]:
        h = self.link.key("c", conversation_id)
        return h, h + ":t", h + ":a"

    def _recent(self, owner: str | None) -> str:
        return self.link.key("recent", hashed(owner))

    async def create(self, system: str | None, owner: str | None) -> Conversation:
        conversation = Conversation(id=uuid.uuid4().hex[:16], system=system)
        h, _, a = self._keys(conversation.id)
        made = await self.link.call(lambda: self._create(
            keys=[h, a, self._recent(owner)],
            args=[self.link.prefix, self.max_conversations, owner or "", system or "", repr(conversation.updated_at),
                  self.ttl_ms, self.link.replica, self.lease_ms, conversation.id]))
        if not made:
            raise ConversationCapReached(self.max_conversations)
        conversation.store_version = 0
        conversation.store_owner = owner or ""
        return conversation

    async def find(self, conversation_id: str, owner: str | None) -> Conversation | None:
        mine = self.writing.get(conversation_id)
        if mine is not None:  # streaming here: the live object is the newest state
            return mine.conversation if mine.owner == (owner or "") else None
        h, t, a = self._keys(conversation_id)

        async def read() -> list[Any]:
            async with self.link.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(h)
                pipe.get(t)
                pipe.exists(a)
                return list(await pipe.execute())

        fields, text, alive = await self.link.call(read)
        if not fields or fields.get(b"owner", b"").decode() != (owner or ""):
            return None
        status = fields[b"status"].decode()
        if status in ("queued", "streaming") and not alive:
            await self.link.call(lambda: self._reap(keys=[h, t, a], args=[DEAD_REPLICA, repr(time.time())]))
            return await self.find(conversation_id, owner)
        conversation = _loaded(conversation_id, fields, text)
        conversation.store_owner = owner or ""
        return conversation

    async def begin(self, conversation: Conversation, prompt: str, model: str,
                    attachments: list[str] | None = None) -> list[dict[str, Any]]:
        version = conversation.store_version
        messages = conversation.begin(prompt, model, self.max_messages, attachments)
        h, t, a = self._keys(conversation.id)
        owner = conversation.store_owner  # set by create and find
        result = await self.link.call(lambda: self._begin(
            keys=[h, t, a, self._recent(owner or None)],
            args=[str(version), model, conversation.system or "", json.dumps(conversation.messages),
                  repr(conversation.updated_at), self.link.replica, self.lease_ms, self.ttl_ms, conversation.id]))
        if result != b"ok":
            raise ConversationBusy(conversation.id)
        self.writing[conversation.id] = _Writing(conversation, owner, status="queued")
        return messages

    def queue_progress(self, pipe: Any, conversation: Conversation) -> tuple[_Writing, int, int, str] | None:
        """Add an answer in flight's new bytes (and its status when it changed) to a pipeline about to be sent;
        returns what to count as written once it was (None: nothing to write)."""
        mine = self.writing.get(conversation.id)
        if mine is None:
            return None
        delta = _text_since(conversation, mine.chars)
        raw = delta.encode()
        if raw:
            _, t, _ = self._keys(conversation.id)
            pipe.setrange(t, mine.bytes, raw)
            if mine.bytes == 0:
                pipe.pexpire(t, self.ttl_ms)
        if conversation.status != mine.status and conversation.busy:
            pipe.hset(self._keys(conversation.id)[0], "status", conversation.status)
        elif not raw:
            return None
        return mine, len(delta), len(raw), conversation.status

    async def save(self, conversation: Conversation, also: Callable[[Any], None] | None = None) -> bool:
        """Write what changed; `also` adds commands (the change's PUBLISH) to the same round trip. True when
        that round trip was sent. Mid-stream a save is one SETRANGE of the new bytes (plus the status when it
        changes); the TTLs, set when the turn began, are refreshed when it ends."""
        mine = self.writing.get(conversation.id)
        if mine is None:
            return False
        h, t, a = self._keys(conversation.id)
        finished = not conversation.busy
        try:
            self.link.round_trips += 1
            async with self.link.redis.pipeline(transaction=finished) as pipe:
                step = self.queue_progress(pipe, conversation)
                if finished:
                    pipe.hset(h, mapping={
                        "status": conversation.status, "updated_at": repr(conversation.updated_at),
                        "messages": json.dumps(conversation.messages), "error": conversation.error or "",
                        "finish_reason": conversation.finish_reason or "",
                        "usage": json.dumps(conversation.usage) if conversation.usage else ""})
                    pipe.hincrby(h, "version", 1)
                    pipe.delete(t, a)
                    pipe.pexpire(h, self.ttl_ms)
                if len(pipe) == 0:
                    self.link.round_trips -= 1
                    return False
                if also is not None:
                    also(pipe)
                with metrics().redis_round_trip("save"):
                    await pipe.execute()
        except UNREACHABLE as exc:
            self.link.warn("saving an answer", exc)
            if finished:
                self.unsaved.add(conversation.id)
            return True  # the change is announced when the save gets through
        if step is not None:
            mine.chars += step[1]
            mine.bytes += step[2]
        mine.status = conversation.status
        if finished:
            self.writing.pop(conversation.id, None)
            self.unsaved.discard(conversation.id)
        return True

    async def recent(self, limit: int, owner: str | None) -> list[str]:
        ids = await self.link.call(lambda: self.link.redis.zrevrange(self._recent(owner), 0, limit - 1))
        return [i.decode() if isinstance(i, bytes) else i for i in ids]

    def owner(self, conversation_id: str) -> str | None:
        mine = self.writing.get(conversation_id)
        return (mine.owner or None) if mine is not None else None

    async def renew(self) -> None:
        """Keep the alive keys of the answers streaming here; write answers that finished while Redis was away."""
        for conversation_id in list(self.unsaved):
            mine = self.writing.get(conversation_id)
            if mine is not None:
                await self.save(mine.conversation)
        alive = [self._keys(cid)[2] for cid, w in self.writing.items() if w.conversation.busy]
        if alive:
            self.link.round_trips += 1
            async with self.link.redis.pipeline(transaction=False) as pipe:
                for key in alive:
                    pipe.set(key, self.link.replica, px=self.lease_ms)
                await pipe.execute()

    async def close(self) -> None:
        return None


def _text_since(conversation: Conversation, chars: int) -> str:
    """The answer after its first `chars` characters (Conversation.tail walks only the new parts)."""
    missing = conversation.answer_length - chars
    if missing <= 0:
        return ""
    return conversation.tail(missing)[-missing:]  # the last characters drop tail's "…" marker


def _loaded(conversation_id: str, fields: dict[bytes, bytes], text: bytes | None) -> Conversation:
    def field(name: str) -> str | None:
        value = fields.get(name.encode(), b"").decode()
        return value or None

    usage = field("usage")
    conversation = Conversation(
        id=conversation_id, system=field("system"), model=field("model"),
        messages=json.loads(field("messages") or "[]"), status=field("status") or "idle", error=field("error"),
        finish_reason=field("finish_reason"), usage=json.loads(usage) if usage else None,
        updated_at=float(field("updated_at") or 0))
    if text:
        conversation.append(text.decode(errors="replace"))
    elif conversation.status in ("done", "cancelled") and conversation.messages \
            and conversation.messages[-1]["role"] == "assistant":  # the last answer, as a live object has it
        conversation.append(conversation.messages[-1]["content"])
    conversation.store_version = int(field("version") or 0)
    return conversation
