"""The set of orgs that changed since their last refresh, so per-org work is in proportion to change.

Recording and ingestion mark an org after their write commits; beat's dispatcher refreshes only
marked orgs (plus the daily rollover and orgs never refreshed, see ``orgdash.core.selectors``),
and a mark is removed only by a refresh that *started after it*, so a worker dying mid-refresh,
or a change landing while a refresh runs, leaves the org marked for the next round.

The set lives in Redis: a sorted set ``orgdash:orgs-changed`` of schema names scored by the Redis
server's clock (milliseconds) at the latest mark, so web and worker machines' clocks never have to
agree. A mark is one script call, made only when recording or ingestion wrote to the database
(recording writes once per member and kind per day and once every few minutes per member, so
marks are as rare as those writes). When Redis is unreachable the mark goes to the database
instead (``OrganizationStats.changed_at``, cleared the same way by the database's clock).
"""

from __future__ import annotations

import logging
import time

import redis
from django.db import DatabaseError, connection
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

CHANGED_KEY = "orgdash:orgs-changed"
# After Redis failed, marks go straight to the database for this long: a request must not wait
# for a dead Redis each time.
REDIS_RETRY_SECONDS = 5.0
_redis_down_until = 0.0

# Marks an org with the server's time; a later mark never lowers it (GT). Returns the time.
_MARK_SCRIPT = """
redis.replicate_commands()
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'GT', ms, ARGV[1])
return ms
"""
# Removes an org's mark only when it is older than the refresh that read the changes.
_CLEAR_SCRIPT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) < tonumber(ARGV[2]) then
    redis.call('ZREM', KEYS[1], ARGV[1])
    return 1
end
return 0
"""

# Removes the marks of orgs that no longer exist, each unless it was marked again since it was read.
_PRUNE_SCRIPT = """
local removed = 0
for i = 1, #ARGV, 2 do
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if score and tonumber(score) <= tonumber(ARGV[i + 1]) then
        redis.call('ZREM', KEYS[1], ARGV[i])
        removed = removed + 1
    end
end
return removed
"""

_MARK_FALLBACK_SQL = """
UPDATE public.core_organizationstats SET changed_at = clock_timestamp()
WHERE organization_id = (SELECT id FROM public.core_organization WHERE schema_name = %s)
"""


def _redis() -> redis.Redis:
    return get_redis_connection("default")


def organization_changed(*, schema: str) -> None:
    """Marks ``schema``'s org as changed. Call it after the change committed. Never raises:
    marking must not turn a user's request into an error (an unmarked change still reaches the
    aggregates with the org's daily rollover)."""
    global _redis_down_until
    if time.monotonic() >= _redis_down_until:
        try:
            _redis().eval(_MARK_SCRIPT, 1, CHANGED_KEY, schema)
            return
        except redis.RedisError as exc:
            _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            logger.warning("could not mark %s as changed in Redis (%s); marking in the database", schema, exc)
    try:
        with connection.cursor() as cursor:
            cursor.execute(_MARK_FALLBACK_SQL, [schema])
    except DatabaseError:
        logger.exception("could not mark %s as changed", schema)


def changed_organizations() -> dict[str, int] | None:
    """Every marked org: schema → time of its latest mark (Redis clock, ms). None when Redis is
    unreachable (then only the database marks and the rollover are known)."""
    try:
        return {name.decode(): int(score) for name, score in _redis().zrange(CHANGED_KEY, 0, -1, withscores=True)}
    except redis.RedisError:
        logger.warning("could not read the changed orgs from Redis", exc_info=True)
        return None


def change_clock() -> int | None:
    """The Redis server's time in ms, taken before a refresh reads an org's changes; None when
    Redis is unreachable (the org's mark then stays, and the next round refreshes it again)."""
    try:
        seconds, microseconds = _redis().time()
        return seconds * 1000 + microseconds // 1000
    except redis.RedisError:
        return None


def organization_change_seen(*, schema: str, read_from: int) -> bool:
    """Removes ``schema``'s mark if it is older than ``read_from`` (``change_clock()`` taken before
    the refresh started). Returns whether it did."""
    try:
        return bool(_redis().eval(_CLEAR_SCRIPT, 1, CHANGED_KEY, schema, read_from))
    except redis.RedisError:
        logger.warning("could not clear the change mark of %s", schema, exc_info=True)
        return False


def organization_marks_prune(marks: dict[str, int]) -> int:
    """Removes the marks of orgs that no longer exist (``marks``: schema → the mark's time as read),
    so the set holds only live orgs; a mark set again since it was read stays. Returns how many
    went."""
    if not marks:
        return 0
    arguments = [value for schema, score in marks.items() for value in (schema, score)]
    try:
        return int(_redis().eval(_PRUNE_SCRIPT, 1, CHANGED_KEY, *arguments))
    except redis.RedisError:
        logger.warning("could not prune the change marks of %s", ", ".join(marks), exc_info=True)
        return 0
