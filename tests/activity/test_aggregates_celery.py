"""The beat dispatcher, through a real Celery worker process and the real Redis broker: it fans
out one refresh per changed org, each runs in its org's schema and leaves aggregates that match
the rows; and a real beat process queues it on its own schedule."""

import datetime as dt
import time
import uuid
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Membership
from activity.models import ActivityDay, AggregateState, DayFigures, MemberPeriodDays, PeriodFigures
from activity.periods import PERIODS
from activity.selectors import activity_summary, activity_timeseries
from activity.tasks import refresh_all_organizations
from orgdash.core.changes import organization_changed
from orgdash.core.models import Organization
from tests.clock import clear_of_midnight
from tests.conftest import celery_beat, celery_worker
from tests.factories import make_member, make_user


@pytest.fixture
def worker(committed):
    with celery_worker("aggregates-test") as process:
        yield process


def _reset_aggregates():
    for model in (DayFigures, PeriodFigures, MemberPeriodDays, AggregateState):
        model.objects.all().delete()


def _brute_force_totals(today: dt.date) -> dict[str, int]:
    """Unique members active in each period's window (the window as the API reports it)."""
    rows = list(ActivityDay.objects.filter(day__lte=today).values_list("membership_id", "day"))
    totals = {}
    for period in PERIODS:
        summary = activity_summary(period=period)
        start = dt.date.fromisoformat(summary.as_summary()["start"])
        totals[period] = len({member for member, day in rows if start <= day <= today})
    return totals


def test_beat_dispatcher_refreshes_every_changed_org_in_a_worker(worker):
    organizations = {org.slug: org for org in Organization.objects.filter(slug__in=["acme", "globex"])}
    clear_of_midnight(seconds=90)  # the worker's refresh ends its windows on the day the rows are laid out from
    today = timezone.now().astimezone(dt.UTC).date()
    tag = uuid.uuid4().hex[:8]
    created = []
    with tenant_context(organizations["acme"]):
        _reset_aggregates()
        for i in range(4):
            member = make_member(user=make_user(email=f"celery-{tag}-{i}@example.test"))
            created.append(member)
            for offset in range(0, 200, 17 + 11 * i):
                day = today - dt.timedelta(days=offset)
                moment = dt.datetime.combine(day, dt.time(10), dt.UTC)
                ActivityDay.objects.create(membership=member, day=day, first_seen=moment, last_seen=moment)
    with tenant_context(organizations["globex"]):
        _reset_aggregates()
    # The rows above bypass the services that mark an org as changed.
    for org in organizations.values():
        organization_changed(schema=org.schema_name)
    queued_at = timezone.now()
    try:
        assert refresh_all_organizations.delay() is not None
        deadline = time.monotonic() + 60
        done = {}
        while time.monotonic() < deadline and len(done) < 2:
            for slug, org in organizations.items():
                with tenant_context(org):
                    state = AggregateState.objects.filter(computed_at__gte=queued_at).first()
                if state is not None:
                    done[slug] = state
            time.sleep(0.3)
        assert set(done) == {"acme", "globex"}, "each org was refreshed by the worker, in its own schema"
        with tenant_context(organizations["acme"]):
            totals = {period: activity_summary(period=period).total_active_users for period in PERIODS}
            assert totals == _brute_force_totals(done["acme"].computed_for_day)
            assert totals["6m"] >= 4
            daily = {p["date"]: p["active_users"] for p in activity_timeseries(period="30d").as_timeseries()["series"]}
            per_day = defaultdict(int)
            for day in ActivityDay.objects.filter(day__gt=today - dt.timedelta(days=30)).values_list("day", flat=True):
                per_day[day.isoformat()] += 1
            assert daily == {d: per_day.get(d, 0) for d in daily}
    finally:
        with tenant_context(organizations["acme"]):
            ActivityDay.objects.filter(membership__in=created).delete()
            user_ids = [member.user_id for member in created]
            Membership.objects.filter(pk__in=[member.pk for member in created]).delete()
            # From the org's schema, so the deletion can check the org's references to the users.
            get_user_model().objects.filter(pk__in=user_ids).delete()
            _reset_aggregates()
        with tenant_context(organizations["globex"]):
            _reset_aggregates()


def test_beat_queues_the_refresh_on_its_schedule_and_the_worker_runs_it(committed, tmp_path):
    organization = Organization.objects.get(slug="acme")
    clear_of_midnight(seconds=90)  # beat's refresh, in the worker, is for the day the test expects
    today = timezone.now().astimezone(dt.UTC).date()
    member = None
    with tenant_context(organization):
        _reset_aggregates()
        member = make_member(user=make_user(email=f"beat-{uuid.uuid4().hex[:8]}@example.test"))
        moment = dt.datetime.combine(today, dt.time(9), dt.UTC)
        ActivityDay.objects.create(membership=member, day=today, first_seen=moment, last_seen=moment)
    # The row above bypasses recording, which marks the org as changed for beat's next round.
    organization_changed(schema=organization.schema_name)
    started = timezone.now()
    try:
        # Nobody queues anything here: only beat's schedule (every second) can bring the refresh.
        with celery_worker("beat-refresh"), celery_beat("refresh", tmp_path, ORGDASH_ACTIVITY_REFRESH_SECONDS="1"):
            deadline = time.monotonic() + 60
            state = None
            while state is None and time.monotonic() < deadline:
                with tenant_context(organization):
                    state = AggregateState.objects.filter(computed_at__gte=started).first()
                time.sleep(0.3)
        assert state is not None, "beat's refresh never reached the worker"
        with tenant_context(organization):
            assert state.computed_for_day == today
            totals = {period: activity_summary(period=period).total_active_users for period in PERIODS}
            assert totals == _brute_force_totals(today)
            assert totals["30d"] >= 1
    finally:
        with tenant_context(organization):
            ActivityDay.objects.filter(membership=member).delete()
            user_id = member.user_id
            Membership.objects.filter(pk=member.pk).delete()
            get_user_model().objects.filter(pk=user_id).delete()
            _reset_aggregates()
