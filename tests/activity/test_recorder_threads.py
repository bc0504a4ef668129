"""One web process serves requests on several threads (gunicorn's gthread workers), all recording
through the process's one recorder: its Redis client must be shared, never swapped under a thread
that is using it."""

import datetime as dt
import logging
import threading
import time

import redis
import redis.connection
from django_tenants.utils import schema_context

from activity.models import ActivityDay, ActivityKind
from activity.recording import ActivityRecorder
from tests.activity.test_capture_concurrency import committed_member, run_in_threads  # noqa: F401
from tests.clock import yesterday_noon

THREADS = 8


def test_threads_meeting_a_fresh_recorder_share_one_redis_client(committed_member, monkeypatch, caplog):  # noqa: F811
    """A worker's first requests arrive together. Each thread's sighting is of another day, so
    each must be written; none may fall back to the database for want of Redis, which is up."""
    membership = committed_member.membership
    shared = ActivityRecorder()
    pools_made = []
    make_pool = redis.ConnectionPool.__init__

    def slow_pool(self, *args, **kwargs):
        # Connecting takes a moment on a busy machine: long enough for the other threads to arrive.
        time.sleep(0.02)
        pools_made.append(threading.get_ident())
        make_pool(self, *args, **kwargs)

    read_answer = redis.connection.Connection.read_response

    def slow_answer(self, *args, **kwargs):
        time.sleep(0.03)  # and Redis answers while other threads are still getting their client
        return read_answer(self, *args, **kwargs)

    # A slow machine must not pass for an unreachable Redis; only the swap may fail these requests.
    monkeypatch.setattr("activity.recording.REDIS_TIMEOUT_SECONDS", 5.0)
    monkeypatch.setattr(redis.ConnectionPool, "__init__", slow_pool)
    monkeypatch.setattr(redis.connection.Connection, "read_response", slow_answer)
    days = [yesterday_noon() - dt.timedelta(days=index) for index in range(THREADS)]
    wrote = [None] * THREADS

    def work(index: int) -> None:
        wrote[index] = shared.record(schema="acme", membership_id=membership.pk, kinds=ActivityKind.API, at=days[index])

    try:
        with caplog.at_level(logging.WARNING, logger="activity.recording"):
            assert run_in_threads(work, count=THREADS) == []
    finally:
        shared._redis().connection_pool.disconnect()
    assert wrote == [True] * THREADS
    assert [record.getMessage() for record in caplog.records if record.name == "activity.recording"] == []
    assert len(pools_made) == 1
    with schema_context("acme"):
        recorded = set(ActivityDay.objects.filter(membership=membership).values_list("day", flat=True))
    assert recorded == {day.date() for day in days}
