"""Beat's round costs what changed: it visits only orgs marked by recording or ingestion, due for
their daily rollover, or never refreshed; a mark goes only once a refresh that started after it
succeeded; big orgs go to their own queue."""

import datetime as dt
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import schema_context, tenant_context

from activity.dispatch import refresh_round
from activity.models import ActivityKind, AggregateState
from activity.recording import recorder
from activity.services import activity_events_ingest, refresh_queue
from activity.tasks import refresh_all_organizations
from orgdash.core.changes import (
    CHANGED_KEY,
    change_clock,
    changed_organizations,
    organization_change_seen,
    organization_changed,
    organization_marks_prune,
)
from orgdash.core.models import Organization, OrganizationStats
from orgdash.core.selectors import organizations_to_refresh
from orgdash.core.services import organization_create
from tests.conftest import celery_worker
from tests.factories import make_member


@pytest.fixture
def quiet_instance(db):
    """Every org refreshed today and nothing marked (rolled back with the test, but for Redis)."""
    get_redis_connection("default").delete(CHANGED_KEY)
    now = timezone.now()
    for org in Organization.objects.exclude(schema_name="public"):
        OrganizationStats.objects.update_or_create(
            organization=org,
            defaults={"refreshed_at": now, "refreshed_day": now.astimezone(dt.UTC).date(), "changed_at": None},
        )
    yield now
    get_redis_connection("default").delete(CHANGED_KEY)


def _queued_messages() -> int:
    client = get_redis_connection("default")
    return sum(client.llen(queue) for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.ORGDASH_LARGE_ORG_QUEUE))


def test_a_round_with_nothing_changed_queues_no_per_org_task(quiet_instance, django_assert_max_num_queries):
    before = _queued_messages()
    with django_assert_max_num_queries(1):
        assert refresh_all_organizations() == 0
    assert _queued_messages() == before


def test_recorded_activity_marks_the_org(quiet_instance, acme):
    with tenant_context(acme):
        member = make_member()
    assert recorder.record(schema=acme.schema_name, membership_id=member.pk, kinds=ActivityKind.PAGE_VIEW)
    assert acme.schema_name in changed_organizations()
    assert [target.schema_name for target in refresh_round()] == [acme.schema_name]


def test_ingested_activity_marks_the_org_once_the_batch_commits(
    quiet_instance, globex, django_capture_on_commit_callbacks
):
    with tenant_context(globex), django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = activity_events_ingest(
            events=[{"user": "admin@globex.test", "kind": "sdk", "timestamp": "2026-01-02T10:00:00Z"}]
        )
    assert result.accepted == 1
    assert globex.schema_name not in changed_organizations(), "not before the batch commits"
    for callback in callbacks:
        callback()
    assert [target.schema_name for target in refresh_round()] == [globex.schema_name]


def test_without_redis_the_mark_goes_to_the_database(quiet_instance, acme, monkeypatch):
    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(redis.Redis, "eval", unreachable)
    monkeypatch.setattr("orgdash.core.changes._redis_down_until", 0.0)
    organization_changed(schema=acme.schema_name)
    assert OrganizationStats.objects.get(organization=acme).changed_at is not None
    monkeypatch.undo()
    assert [target.schema_name for target in refresh_round()] == [acme.schema_name]


def test_the_daily_rollover_visits_each_org_once_a_day_at_its_own_minute(quiet_instance, acme):
    today = quiet_instance.astimezone(dt.UTC).date()
    slot = acme.pk % (24 * 60)
    at_slot = dt.datetime.combine(today, dt.time(slot // 60, slot % 60), dt.UTC)
    OrganizationStats.objects.filter(organization=acme).update(refreshed_day=today - dt.timedelta(days=1))

    def visited(now):
        return acme.schema_name in {target.schema_name for target in organizations_to_refresh(changed=[], now=now)}

    if slot > 0:
        assert not visited(at_slot - dt.timedelta(minutes=1)), "not before its minute"
    assert visited(at_slot)
    assert visited(at_slot + dt.timedelta(hours=3)), "a missed minute is caught up later that day"
    OrganizationStats.objects.filter(organization=acme).update(refreshed_day=today)
    assert not visited(at_slot + dt.timedelta(minutes=1)), "once a day"
    OrganizationStats.objects.filter(organization=acme).update(refreshed_day=today - dt.timedelta(days=2))
    assert visited(dt.datetime.combine(today, dt.time(0, 0), dt.UTC)), "more than a day behind: at once"


def test_a_new_org_is_visited_until_its_first_refresh(quiet_instance, acme):
    OrganizationStats.objects.filter(organization=acme).update(refreshed_at=None)
    assert [target.schema_name for target in refresh_round()] == [acme.schema_name]


def test_a_mark_made_while_a_refresh_runs_survives_it(quiet_instance, acme):
    organization_changed(schema=acme.schema_name)
    read_from = change_clock()
    time.sleep(0.002)  # the server clock is in ms: the next mark must be later than read_from
    organization_changed(schema=acme.schema_name)  # a change the refresh may not have seen
    assert not organization_change_seen(schema=acme.schema_name, read_from=read_from)
    assert acme.schema_name in changed_organizations()
    time.sleep(0.002)
    assert organization_change_seen(schema=acme.schema_name, read_from=change_clock())
    assert acme.schema_name not in changed_organizations()


def test_the_mark_of_a_deleted_org_is_pruned_by_the_next_round(quiet_instance, acme):
    deleted = f"deleted_{uuid.uuid4().hex[:8]}"  # marked by its last change, then the org was deleted
    organization_changed(schema=deleted)
    organization_changed(schema=acme.schema_name)
    assert [target.schema_name for target in refresh_round()] == [acme.schema_name]
    marked = changed_organizations()
    assert deleted not in marked
    assert acme.schema_name in marked, "a live org's mark goes only with its refresh"
    assert [target.schema_name for target in refresh_round()] == [acme.schema_name]


def test_pruning_keeps_a_mark_set_again_since_it_was_read(quiet_instance):
    get_redis_connection("default").zadd(CHANGED_KEY, {"deleted_org": 2_000})
    assert organization_marks_prune({"deleted_org": 1_000}) == 0
    assert "deleted_org" in changed_organizations()
    assert organization_marks_prune({"deleted_org": 2_000}) == 1
    assert "deleted_org" not in changed_organizations()


def test_big_orgs_have_their_own_queue(settings):
    settings.ORGDASH_LARGE_ORG_MEMBERS = 1000
    assert refresh_queue(members=999) == settings.CELERY_TASK_DEFAULT_QUEUE
    assert refresh_queue(members=1000) == settings.ORGDASH_LARGE_ORG_QUEUE


# --- Through a real worker -------------------------------------------------------------------


@pytest.fixture
def scratch_org(committed):
    """A committed org of its own (cloned from the template), dropped afterwards."""
    slug = f"dispatch-{uuid.uuid4().hex[:8]}"
    organization = organization_create(slug=slug, name="Dispatch")
    with tenant_context(organization):
        member = make_member()
    yield organization, member
    connection.set_schema_to_public()
    get_redis_connection("default").zrem(CHANGED_KEY, organization.schema_name)
    with tenant_context(organization):
        member.delete()
        # From the org's schema, so the deletion can check the org's references to the user.
        get_user_model().objects.filter(pk=member.user_id).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{organization.schema_name}" CASCADE')
    organization.domains.all().delete()
    organization.delete()


def _wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting until {what}")


def _stats(organization) -> OrganizationStats:
    with schema_context("public"):
        return OrganizationStats.objects.get(organization=organization)


def test_a_failed_refresh_keeps_the_mark_and_the_next_round_refreshes_through_the_big_org_queue(scratch_org):
    scratch_org, _ = scratch_org
    schema = scratch_org.schema_name
    # A refresh needs aggregate tables; without one it fails in the worker.
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{schema}".activity_aggregatestate RENAME TO aggregatestate_away')
    # Routed like a big org, so the worker (started without -Q, like `make run`'s) must consume
    # the big orgs' queue too.
    OrganizationStats.objects.filter(organization=scratch_org).update(members=10**9)
    organization_changed(schema=schema)
    with celery_worker("dispatch-test") as worker:
        log = settings.BASE_DIR / "test-artifacts" / "celery-dispatch-test.log"
        assert refresh_all_organizations() >= 1
        _wait_for(lambda: "refresh_organization_activity" in log.read_text() and " raised " in log.read_text(),
                  "the refresh failed in the worker")  # fmt: skip
        assert schema in changed_organizations(), "the failed refresh left its mark"
        assert _stats(scratch_org).refreshed_at is None

        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{schema}".aggregatestate_away RENAME TO activity_aggregatestate')
        assert refresh_all_organizations() >= 1
        _wait_for(lambda: _stats(scratch_org).refreshed_at is not None, "the next round refreshed the org")
        assert worker.poll() is None
    stats = _stats(scratch_org)
    assert stats.members == 1 and stats.pending_invites == 0 and stats.refreshed_day is not None
    assert schema not in changed_organizations(), "the successful refresh removed the mark"
    with tenant_context(scratch_org):
        assert AggregateState.objects.filter(pk=1).exists()
