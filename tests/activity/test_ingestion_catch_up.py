"""The members' catch-up after ingestion racing live recording and other ingestions: every day is
counted exactly once and ``last_active`` never goes back.

These tests commit their data (each thread has its own database connection, like a worker), in
acme's schema, for members with unique e-mail addresses, and remove all of it afterwards. Where
the order matters, one connection holds its transaction open until another is seen waiting for
its locks, so each interleaving is forced rather than hoped for.
"""

import datetime as dt
import random
import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership
from accounts.services import membership_add, user_get_or_create
from activity.models import ActivityDay, ActivityDirtyDay, ActivityDirtyMembers, ActivityKind
from activity.services import CATCH_UP_CACHE_KEY, activity_events_ingest, activity_record_write
from activity.services import membership_stats_catch_up as catch_up
from tests.activity.test_aggregates_celery import worker  # noqa: F401 (fixture)
from tests.activity.test_capture_concurrency import run_in_threads
from tests.clock import yesterday_noon
from tests.conftest import PASSWORD

SCHEMA = "acme"


@pytest.fixture
def committed_members(django_db_setup, django_db_blocker):
    """A function making committed members of acme; all of them and their activity are removed afterwards."""
    made: list[tuple[Membership, object]] = []
    with django_db_blocker.unblock():
        with schema_context(SCHEMA):
            dirty_days_before = set(ActivityDirtyDay.objects.values_list("day", flat=True))
            marks_before = set(ActivityDirtyMembers.objects.values_list("id", flat=True))

        def make() -> Membership:
            email = f"catch-up-{uuid.uuid4().hex[:10]}@acme.test"
            user, _ = user_get_or_create(email=email, password=PASSWORD, name="Catch Up")
            with schema_context(SCHEMA):
                membership = membership_add(user=user)
            made.append((membership, user))
            return membership

        try:
            yield make
        finally:
            connection.set_schema_to_public()
            with schema_context(SCHEMA):
                ids = [membership.pk for membership, _ in made]
                ActivityDay.objects.filter(membership_id__in=ids).delete()
                ActivityDirtyDay.objects.exclude(day__in=dirty_days_before).delete()
                ActivityDirtyMembers.objects.exclude(id__in=marks_before).delete()
                for membership, user in made:
                    Membership.objects.filter(pk=membership.pk).delete()
                    user.delete()  # in a tenant schema, so the collector finds the tenant tables


def figures(membership) -> tuple[int, dt.datetime | None]:
    with schema_context(SCHEMA):
        member = Membership.objects.get(pk=membership.pk)
        return member.days_active, member.last_active


def exact_figures(membership) -> tuple[int, dt.datetime | None]:
    with schema_context(SCHEMA):
        rows = ActivityDay.objects.filter(membership_id=membership.pk)
        return rows.count(), max((row.last_seen for row in rows), default=None)


def ingest(membership, *moments: dt.datetime) -> None:
    """Ingests one event per moment for ``membership`` (committed on return)."""
    events = [{"user": membership.email, "kind": "api", "timestamp": moment.isoformat()} for moment in moments]
    with schema_context(SCHEMA):
        assert activity_events_ingest(events=events).accepted == len(moments)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_waiting_for_a_lock(pid_holder: dict, timeout: float = 15) -> None:
    """Returns once the connection whose pid the thread put in ``pid_holder`` waits for another's lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = pid_holder.get("pid")
        if pid is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
                if cursor.fetchone()[0]:
                    return
        time.sleep(0.02)
    raise AssertionError("the other connection never waited for the lock")


class Steps:
    """Threads that go one step at a time: ``go(name)`` releases the step ``name`` of a thread."""

    def __init__(self) -> None:
        self.events: dict[str, threading.Event] = {}
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def event(self, name: str) -> threading.Event:
        return self.events.setdefault(name, threading.Event())

    def wait(self, name: str) -> None:
        assert self.event(name).wait(30), f"step {name!r} never came"

    def go(self, name: str) -> None:
        self.event(name).set()

    def start(self, work) -> None:
        def body() -> None:
            try:
                work()
            except BaseException as exc:
                self.errors.append(exc)
                for event in self.events.values():  # let the test fail instead of hanging
                    event.set()
            finally:
                connection.close()

        thread = threading.Thread(target=body)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
        assert self.errors == []


def test_a_live_day_committed_while_the_catch_up_waits_is_counted_once(committed_members):
    """The recorder created a day row and added 1, and has not committed yet; the catch-up must
    wait for it and then count that row (a count taken before the wait would lose the +1)."""
    member = committed_members()
    now = timezone.now().replace(microsecond=0)
    ingest(member, now - dt.timedelta(days=3), now - dt.timedelta(days=2))
    steps, catch_up_pid = Steps(), {}

    def recorder() -> None:
        with schema_context(SCHEMA), db_transaction.atomic():
            activity_record_write(schema=SCHEMA, membership_id=member.pk, kinds=ActivityKind.LOGIN, at=now)
            steps.go("recorded")
            steps.wait("commit")

    def catching_up() -> None:
        with schema_context(SCHEMA):
            catch_up_pid["pid"] = backend_pid()
            assert catch_up().members == 1

    steps.start(recorder)
    steps.wait("recorded")
    steps.start(catching_up)
    wait_until_waiting_for_a_lock(catch_up_pid)
    steps.go("commit")
    steps.join()
    assert figures(member) == exact_figures(member) == (3, now)


def test_a_live_day_written_while_the_catch_up_holds_the_member_adds_to_the_recount(committed_members):
    member = committed_members()
    now = timezone.now().replace(microsecond=0)
    ingest(member, now - dt.timedelta(days=3), now - dt.timedelta(days=2))
    steps, recorder_pid = Steps(), {}

    def catching_up() -> None:
        with schema_context(SCHEMA), db_transaction.atomic():
            assert catch_up().members == 1
            steps.go("caught up")
            steps.wait("commit")

    def recorder() -> None:
        recorder_pid["pid"] = backend_pid()
        activity_record_write(schema=SCHEMA, membership_id=member.pk, kinds=ActivityKind.LOGIN, at=now)

    steps.start(catching_up)
    steps.wait("caught up")
    steps.start(recorder)
    wait_until_waiting_for_a_lock(recorder_pid)
    steps.go("commit")
    steps.join()
    assert figures(member) == exact_figures(member) == (3, now)


def test_a_batch_still_being_written_is_left_for_the_next_catch_up(committed_members):
    member = committed_members()
    now = timezone.now().replace(microsecond=0)
    ingest(member, now - dt.timedelta(days=5))
    steps = Steps()

    def ingestion() -> None:
        with db_transaction.atomic():
            ingest(member, now - dt.timedelta(hours=1))
            steps.go("written")
            steps.wait("commit")

    steps.start(ingestion)
    steps.wait("written")
    with schema_context(SCHEMA):
        assert catch_up().members == 1  # the committed batch; the open one is not visible yet
    assert figures(member) == (1, now - dt.timedelta(days=5))
    steps.go("commit")
    steps.join()
    with schema_context(SCHEMA):
        assert catch_up().members == 1
    assert figures(member) == exact_figures(member) == (2, now - dt.timedelta(hours=1))


def test_live_recording_ingestion_and_catch_ups_racing_leave_exact_figures(committed_members):
    members = [committed_members() for _ in range(3)]
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=20)
    moments = [start + dt.timedelta(days=offset, hours=offset % 7) for offset in range(20)]

    def work(index: int) -> None:
        rng = random.Random(index)
        with schema_context(SCHEMA):
            for _ in range(12):
                member = rng.choice(members)
                chosen = rng.sample(moments, 4)
                if index % 3 == 0:
                    for moment in chosen:
                        activity_record_write(schema=SCHEMA, membership_id=member.pk, kinds=ActivityKind.API, at=moment)
                elif index % 3 == 1:
                    events = [
                        {"user": person.email, "kind": "sdk", "timestamp": moment.isoformat()}
                        for person in members
                        for moment in chosen
                    ]
                    activity_events_ingest(events=events)
                else:
                    catch_up()

    assert run_in_threads(work, count=6) == []
    with schema_context(SCHEMA):
        catch_up()
    for member in members:
        assert figures(member) == exact_figures(member)
        assert figures(member)[0] > 0


@pytest.mark.usefixtures("worker")
def test_a_worker_brings_ingested_activity_into_the_figures_within_seconds(committed_members):
    members = [committed_members() for _ in range(2)]
    with schema_context(SCHEMA):
        cache.delete(CATCH_UP_CACHE_KEY)  # no catch-up queued by an earlier test
    now = yesterday_noon()  # a day and two hours before it are two days
    ingested_at = time.monotonic()
    ingest(members[0], now - dt.timedelta(days=1), now - dt.timedelta(hours=2))
    ingest(members[1], now - dt.timedelta(days=9))  # within the same few seconds: the same task covers it
    assert figures(members[0]) == figures(members[1]) == (0, None)
    deadline = ingested_at + 30
    while time.monotonic() < deadline and any(figures(member) != exact_figures(member) for member in members):
        time.sleep(0.2)
    assert figures(members[0]) == (2, now - dt.timedelta(hours=2))
    assert figures(members[1]) == (1, now - dt.timedelta(days=9))
    with schema_context(SCHEMA):
        assert not ActivityDirtyMembers.objects.filter(membership_ids__overlap=[m.pk for m in members]).exists()
