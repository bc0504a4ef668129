"""Recording that a member was active: nearly free on the hot path, exact in the database.

Each authenticated request of a member ends in ``recorder.record(...)``. Redis decides whether
the database needs to hear about it, in one pipelined round trip:

- ``act:{schema}:{membership_id}:{yyyymmdd}:{kind}`` (SET NX, expires after two days): only the
  first sighting of a kind of activity per member and UTC day writes the day row;
- ``act-seen:{schema}:{membership_id}`` (SET NX, expires after ``LAST_ACTIVE_INTERVAL``): the
  member's ``last_active`` moves at most once per interval.

So a member costs at most one database write per kind per day plus one every few minutes, and
the write is a single idempotent statement (``activity.services.activity_record_write``).
A process also remembers what Redis told it for as long as that stays true, so a member's
repeated requests on one worker do not reach Redis either.

When Redis cannot be reached, the recorder writes through the database instead (the same
statement, deduplicated per process), logs the outage once, and tries Redis again after
``REDIS_RETRY_SECONDS``; short socket timeouts keep a dead Redis from slowing requests down.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from activity.models import ActivityKind
from activity.services import activity_record_write
from orgdash.core.changes import organization_changed

logger = logging.getLogger(__name__)

DAY_KEY_TTL = 2 * 24 * 3600
LAST_ACTIVE_INTERVAL = 300
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.25
# Members remembered per process; past this the memory starts over (costing only Redis calls).
LOCAL_MEMORY_LIMIT = 100_000

KIND_BITS = [(kind.value, kind.label) for kind in ActivityKind]


def kind_names(kinds: int) -> list[str]:
    return [label for bit, label in KIND_BITS if kinds & bit]


@dataclass
class _Known:
    """What this process knows is already in the database for one member."""

    day: dt.date
    kinds: int
    last_active_fresh_until: float  # time.monotonic() until which last_active needs no write


class ActivityRecorder:
    def __init__(self) -> None:
        self._client: tuple[str, redis.Redis] | None = None  # (REDIS_URL, its client), replaced whole
        self._redis_down_until = 0.0
        self._outage_logged = False
        self._known: dict[tuple[str, int], _Known] = {}
        self._lock = threading.Lock()

    # --- the hot path ---------------------------------------------------------------------

    def record(self, *, schema: str, membership_id: int, kinds: int, at: dt.datetime | None = None) -> bool:
        """Notes that a member of ``schema`` was active (``kinds``: ``ActivityKind`` bits) at ``at``
        (default now). Returns whether it wrote to the database. Never raises: activity recording
        must not turn a user's request into an error."""
        if not kinds or not settings.ORGDASH_ACTIVITY_RECORDING:
            return False
        at = at or timezone.now()
        day = at.astimezone(dt.UTC).date()
        member = (schema, membership_id)
        now = time.monotonic()
        known = self._known.get(member)
        if known is not None and known.day != day:
            known = None
        if known is not None and not kinds & ~known.kinds and now < known.last_active_fresh_until:
            return False

        answer = self._ask_redis(schema, membership_id, day, kinds)
        if answer is None:  # Redis unreachable: this process's memory is the only de-duplication
            write_needed = known is None or bool(kinds & ~known.kinds) or now >= known.last_active_fresh_until
            claimed_keys: list[str] = []
            fresh_until = now + LAST_ACTIVE_INTERVAL
        else:
            new_kinds, last_active_due, fresh_for, claimed_keys = answer
            write_needed = bool(new_kinds) or last_active_due
            fresh_until = now + (LAST_ACTIVE_INTERVAL if last_active_due else fresh_for)

        if write_needed:
            try:
                activity_record_write(schema=schema, membership_id=membership_id, kinds=kinds, at=at)
            except DatabaseError:
                logger.exception("activity recording: could not write activity of member %s", membership_id)
                self._release(claimed_keys)  # let the next request try again
                return False
            # The org's next refresh round visits it. The write is committed by now (requests record
            # after their response, outside any transaction), so the mark follows it.
            organization_changed(schema=schema)
        self._remember(member, day, (known.kinds if known else 0) | kinds, fresh_until)
        return write_needed

    # --- Redis ------------------------------------------------------------------------------

    def _ask_redis(self, schema: str, membership_id: int, day: dt.date, kinds: int):
        """``(new kinds, last_active due, seconds last_active stays fresh, keys claimed)``, or None
        when Redis cannot be reached."""
        if time.monotonic() < self._redis_down_until:
            return None
        stamp = day.strftime("%Y%m%d")
        kind_keys = [(bit, f"act:{schema}:{membership_id}:{stamp}:{label}") for bit, label in KIND_BITS if kinds & bit]
        seen_key = f"act-seen:{schema}:{membership_id}"
        try:
            pipe = self._redis().pipeline(transaction=False)
            for _, key in kind_keys:
                pipe.set(key, 1, nx=True, ex=DAY_KEY_TTL)
            pipe.set(seen_key, 1, nx=True, ex=LAST_ACTIVE_INTERVAL)
            pipe.pttl(seen_key)
            *kind_results, last_active_due, ttl_ms = pipe.execute()
        except redis.RedisError as exc:
            self._redis_unreachable(exc)
            return None
        if self._outage_logged:
            self._outage_logged = False
            logger.warning("activity recording: Redis is reachable again; de-duplicating through Redis")
        new_kinds = 0
        claimed = []
        for (bit, key), was_set in zip(kind_keys, kind_results, strict=True):
            if was_set:
                new_kinds |= bit
                claimed.append(key)
        if last_active_due:
            claimed.append(seen_key)
        fresh_for = max(ttl_ms, 0) / 1000
        return new_kinds, bool(last_active_due), fresh_for, claimed

    def _release(self, keys: list[str]) -> None:
        if not keys:
            return
        try:
            self._redis().delete(*keys)
        except redis.RedisError as exc:
            self._redis_unreachable(exc)

    def _redis(self) -> redis.Redis:
        """The process's one client, made by the first thread that needs it. Its pool belongs to
        the recorder, not to the client: a client left behind (``REDIS_URL`` changed) must not
        close connections that another thread is in the middle of using."""
        url = settings.REDIS_URL
        current = self._client
        if current is not None and current[0] == url:
            return current[1]
        with self._lock:
            if self._client is None or self._client[0] != url:
                pool = redis.ConnectionPool.from_url(
                    url,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    retry=Retry(NoBackoff(), 0),  # fail fast; the database path takes over
                )
                previous, self._client = self._client, (url, redis.Redis(connection_pool=pool))
                if previous is not None:  # its idle connections; one in use stays with its thread
                    previous[1].connection_pool.disconnect(inuse_connections=False)
            return self._client[1]

    def _redis_unreachable(self, exc: Exception) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._outage_logged:
            self._outage_logged = True
            logger.warning(
                "activity recording: Redis is unreachable (%s); recording through the database until it is back",
                exc,
            )

    # --- this process's memory ---------------------------------------------------------------

    def _remember(self, member: tuple[str, int], day: dt.date, kinds: int, fresh_until: float) -> None:
        if len(self._known) >= LOCAL_MEMORY_LIMIT:
            self._known.clear()
        self._known[member] = _Known(day, kinds, fresh_until)

    def forget(self, *, redis_keys: bool = False) -> None:
        """Drops what this process remembers and, with ``redis_keys``, every de-duplication key in
        Redis: the next sighting of each member writes again. For tests, whose rows roll back."""
        self._known.clear()
        self._redis_down_until = 0.0
        self._outage_logged = False
        if redis_keys:
            client = self._redis()
            for pattern in ("act:*", "act-seen:*"):
                keys = list(client.scan_iter(pattern, count=1000))
                if keys:
                    client.delete(*keys)


recorder = ActivityRecorder()
