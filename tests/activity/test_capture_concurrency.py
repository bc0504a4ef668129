"""Many workers recording the same member at once never double count a day.

These tests commit their data (each thread has its own database connection, like a worker), in
acme's schema, under a unique e-mail address, and remove all of it afterwards.
"""

import datetime as dt
import random
import threading
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership
from accounts.services import membership_add, user_get_or_create
from activity.models import ActivityDay, ActivityDirtyDay, ActivityKind, Run
from activity.recording import ActivityRecorder, recorder
from activity.services import activity_record_write
from orgdash.core.models import Organization
from tests.clock import clear_of_midnight
from tests.conftest import PASSWORD, host_of

THREADS = 8


@dataclass
class Committed:
    acme: Organization
    membership: Membership
    session_keys: list[str] = field(default_factory=list)


@pytest.fixture
def committed_member(django_db_setup, django_db_blocker):
    """A committed member of acme, removed afterwards with everything written for it."""
    with django_db_blocker.unblock():
        with schema_context("public"):
            acme = Organization.objects.get(slug="acme")
        email = f"concurrent-{uuid.uuid4().hex[:10]}@acme.test"
        user, _ = user_get_or_create(email=email, password=PASSWORD, name="Concurrent Person")
        with schema_context("acme"):
            dirty_before = set(ActivityDirtyDay.objects.values_list("day", flat=True))
            committed = Committed(acme, membership_add(user=user))
        try:
            yield committed
        finally:
            connection.set_schema_to_public()
            with schema_context("acme"):
                Run.objects.filter(created_by=committed.membership).delete()
                ActivityDay.objects.filter(membership=committed.membership).delete()
                ActivityDirtyDay.objects.exclude(day__in=dirty_before).delete()
                Membership.objects.filter(pk=committed.membership.pk).delete()
                user.delete()  # in a tenant schema, so the collector finds the tenant tables
            Session.objects.filter(session_key__in=committed.session_keys).delete()


def run_in_threads(work, count: int = THREADS) -> list[BaseException]:
    """Runs ``work(index)`` in ``count`` threads released at the same moment; returns their errors."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_concurrent_database_writes_count_each_day_once_and_keep_the_latest_time(committed_member):
    """Redis down on every worker: each writes straight through the database, racing the others."""
    membership = committed_member.membership
    # Noon UTC, so the minutes the threads add never carry a sighting into the next day.
    base = (timezone.now() - dt.timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    days = [base + dt.timedelta(days=offset) for offset in range(5)]
    kinds = [ActivityKind.PAGE_VIEW, ActivityKind.API, ActivityKind.SDK, ActivityKind.LOGIN]

    def work(index: int) -> None:
        order = days[:]
        random.Random(index).shuffle(order)
        for day_start in order:
            for repeat in range(3):
                at = day_start + dt.timedelta(minutes=index * 3 + repeat)
                activity_record_write(schema="acme", membership_id=membership.pk, kinds=kinds[index % 4], at=at)

    assert run_in_threads(work) == []
    with schema_context("acme"):
        rows = ActivityDay.objects.filter(membership=membership).order_by("day")
        assert [row.day for row in rows] == [day.date() for day in days]
        assert {row.kinds for row in rows} == {sum(kinds)}
        membership.refresh_from_db()
        assert membership.days_active == 5
        latest = days[-1] + dt.timedelta(minutes=(THREADS - 1) * 3 + 2)
        assert membership.last_active == latest
        assert rows.last().last_seen == latest


def test_concurrent_requests_of_one_member_record_one_day_exactly(committed_member, monkeypatch):
    """Through the whole stack: each thread is a worker with its own recorder memory, sharing
    only Redis and the database, all serving the same member's session."""
    membership = committed_member.membership
    clear_of_midnight(seconds=30)  # every request is recorded on the one day the test checks
    with override_settings(ORGDASH_ACTIVITY_RECORDING=False), schema_context("acme"):
        client = Client(HTTP_HOST=host_of("acme"))
        client.force_login(membership.user)
    cookie = client.cookies["sessionid"].value
    committed_member.session_keys.append(cookie)
    workers = [ActivityRecorder() for _ in range(THREADS)]
    current = threading.local()
    monkeypatch.setattr(recorder, "record", lambda **kwargs: current.worker.record(**kwargs))
    statuses = []

    def work(index: int) -> None:
        current.worker = workers[index]
        worker_client = Client(HTTP_HOST=host_of("acme"))
        worker_client.cookies["sessionid"] = cookie
        for request in range(10):
            if request % 2:
                run = {"project": "p", "name": f"run {index}-{request}"}
                response = worker_client.post("/api/v1/runs/", run, content_type="application/json")
            else:
                response = worker_client.get("/org/dashboard/")
            statuses.append(response.status_code)

    assert run_in_threads(work) == []
    assert sorted(set(statuses)) == [201, 403]  # runs logged; the dashboard refuses a member
    today = timezone.now().astimezone(dt.UTC).date()
    with schema_context("acme"):
        rows = list(ActivityDay.objects.filter(membership=membership).values_list("day", "kinds"))
        assert rows == [(today, ActivityKind.PAGE_VIEW | ActivityKind.API | ActivityKind.RUN_LOGGED)]
        membership.refresh_from_db()
        assert membership.days_active == 1
        assert membership.last_active.date() == today
        assert Run.objects.filter(created_by=membership).count() == THREADS * 5
