"""``GET users/<id>/activity/`` against a plain reading of API.md: every period, for people whose
days cover every mix of kinds, the edges of every window, the org's first day and the day after
today, and for people with no days, an invite, a deactivated member and an id nobody has.

The endpoint writes the days' JSON in one statement; the reference reads the rows through the ORM
and builds the answer in Python."""

import datetime as dt
import random

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import Min

from accounts.models import Membership
from activity.models import ActivityDay, ActivityKind
from activity.periods import PERIODS
from orgdash.core.models import Organization
from tests.clock import Clock
from tests.factories import make_member, make_pending_invite

KINDS = [(kind.label, kind.value) for kind in ActivityKind]
ALL_MASKS = range(1, 1 << len(KINDS))
NOBODY = 987_654_321


def created_day() -> dt.date:
    return Organization.objects.get(schema_name=connection.schema_name).created_at.astimezone(dt.UTC).date()


def window_start(period: str, today: dt.date) -> dt.date:
    """API.md's "Periods", read literally."""
    if period == "30d":
        return today - dt.timedelta(days=29)
    if period in ("3m", "6m", "12m"):
        return today - relativedelta(months=int(period[:-1])) + dt.timedelta(days=1)
    first_activity = ActivityDay.objects.aggregate(first=Min("day"))["first"]
    return min(day for day in (first_activity, created_day()) if day is not None)


def reference(membership_id: int, period: str, today: dt.date) -> dict | None:
    """The answer as API.md describes it, or None for a 404."""
    if not Membership.objects.filter(pk=membership_id).exists():
        return None
    start = window_start(period, today)
    rows = list(ActivityDay.objects.filter(membership_id=membership_id, day__gte=start, day__lte=today).order_by("day"))
    return {
        "user": membership_id,
        "period": period,
        "start": start.isoformat(),
        "end": today.isoformat(),
        "days_active": len(rows),
        "by_kind": {label: sum(1 for row in rows if row.kinds & bit) for label, bit in KINDS},
        "days": [
            {"date": row.day.isoformat(), "kinds": [label for label, bit in KINDS if row.kinds & bit]} for row in rows
        ],
    }


def lay_out(membership: Membership, days: dict[dt.date, int]) -> None:
    ActivityDay.objects.bulk_create(
        ActivityDay(
            membership=membership,
            day=day,
            kinds=kinds,
            first_seen=dt.datetime.combine(day, dt.time(9), dt.UTC),
            last_seen=dt.datetime.combine(day, dt.time(17), dt.UTC),
        )
        for day, kinds in days.items()
    )


@pytest.fixture
def people(in_acme, monkeypatch):
    """The people, on a pinned clock; returns (today, {description: membership id})."""
    clock = Clock(monkeypatch, dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC))
    today = clock.now.date()
    rng = random.Random(20260331)
    first_day = today - dt.timedelta(days=900)  # before the org was made: where "all" starts
    window_edges = {first_day, first_day + dt.timedelta(days=1)}
    for period in (period for period in PERIODS if period != "all"):
        start = window_start(period, today)
        window_edges |= {start - dt.timedelta(days=1), start, start + dt.timedelta(days=1)}
    busy = make_member()
    # The org's first day, every mask, each window's edges, and today.
    busy_days = {first_day: ActivityKind.LOGIN, today: ActivityKind.PAGE_VIEW}
    for index, mask in enumerate(ALL_MASKS):
        busy_days[today - dt.timedelta(days=1 + index * 23)] = mask
    for day in window_edges:
        busy_days.setdefault(day, rng.choice(ALL_MASKS))
    for _ in range(300):
        busy_days.setdefault(today - dt.timedelta(days=rng.randrange(900)), rng.choice(ALL_MASKS))
    lay_out(busy, busy_days)
    # Day rows after today (another machine's clock) are in no window.
    ahead = make_member()
    lay_out(ahead, {today - dt.timedelta(days=2): ActivityKind.API, today + dt.timedelta(days=1): ActivityKind.SDK})
    only_ahead = make_member()
    lay_out(only_ahead, {today + dt.timedelta(days=1): ActivityKind.LOGIN})
    one_day = make_member()
    lay_out(one_day, {today - relativedelta(months=6): ActivityKind.RUN_LOGGED})
    gone = make_member(state=Membership.State.DEACTIVATED)
    lay_out(gone, {today - dt.timedelta(days=40): ActivityKind.API | ActivityKind.SDK})
    return today, {
        "busy": busy.pk,
        "a day after today": ahead.pk,
        "only days after today": only_ahead.pk,
        "one day six months ago": one_day.pk,
        "deactivated": gone.pk,
        "no days": make_member().pk,
        "invite": make_pending_invite().pk,
        "nobody": NOBODY,
    }


@pytest.mark.parametrize("period", PERIODS)
def test_every_person_and_period_answers_as_the_reference(people, admin_client, period):
    today, ids = people
    for description, membership_id in ids.items():
        response = admin_client.get(f"/api/v1/users/{membership_id}/activity/", {"period": period})
        expected = reference(membership_id, period, today)
        if expected is None:
            assert response.status_code == 404, description
            assert response.json() == {"detail": "No such user in this organization."}
        else:
            assert response.status_code == 200, description
            assert response.json() == expected, description


def test_the_busy_person_covers_what_the_comparison_needs(people):
    """The data set reaches every branch: every mask on some day, days outside the 12 months and
    before the org was made, and the org's first day is the busy person's."""
    today, ids = people
    busy = ActivityDay.objects.filter(membership_id=ids["busy"])
    assert {row.kinds for row in busy} >= set(ALL_MASKS)
    assert busy.filter(day__lt=today - relativedelta(months=12)).count() > 50
    assert busy.aggregate(first=Min("day"))["first"] == ActivityDay.objects.aggregate(first=Min("day"))["first"]
    assert busy.aggregate(first=Min("day"))["first"] < created_day()
