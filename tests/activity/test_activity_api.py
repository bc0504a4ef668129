"""GET /api/v1/activity/summary/ and /timeseries/: the contract of API.md, errors and permissions."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey, Membership
from activity import aggregates
from activity.aggregates import refresh_activity
from activity.models import ActivityDay, AggregateState, DayFigures, MemberPeriodDays, PeriodFigures
from activity.periods import today_utc
from orgdash.core.keys import generate_api_key
from tests.clock import Clock
from tests.conftest import login
from tests.factories import make_member

SUMMARY = "/api/v1/activity/summary/"
TIMESERIES = "/api/v1/activity/timeseries/"
ALLOWED = "Allowed values: 30d, 3m, 6m, 12m, all."


def clear_aggregates():
    for model in (DayFigures, PeriodFigures, MemberPeriodDays, AggregateState):
        model.objects.all().delete()


@pytest.fixture(autouse=True)
def _no_recording(settings):
    # These tests' own requests are not the activity under test.
    settings.ORGDASH_ACTIVITY_RECORDING = False


@pytest.fixture
def acme_activity(in_acme, monkeypatch):
    """Five members active on known days before today (UTC), aggregates refreshed."""
    ActivityDay.objects.all().delete()
    clear_aggregates()
    Clock(monkeypatch)  # one instant for the rows laid out here, the refresh and the API's answers
    today = today_utc()
    members = [make_member() for _ in range(5)]
    days_ago = {0: [0, 1, 40], 1: [1, 2], 2: [100, 200], 3: [400], 4: []}
    for index, offsets in days_ago.items():
        for offset in offsets:
            day = today - dt.timedelta(days=offset)
            moment = dt.datetime.combine(day, dt.time(12), dt.UTC)
            ActivityDay.objects.create(membership=members[index], day=day, first_seen=moment, last_seen=moment)
    refresh_activity(full=True)
    connection.set_schema_to_public()
    return today


@pytest.fixture
def admin_client(acme_client):
    login(acme_client, "admin@acme.test")
    return acme_client


def test_summary_defaults_to_three_months_with_a_cumulative_daily_series(acme_activity, admin_client):
    today = acme_activity
    response = admin_client.get(SUMMARY)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"period", "start", "end", "total_active_users", "by_kind", "series", "computed_at"}
    assert body["period"] == "3m"
    assert body["end"] == today.isoformat()
    start = dt.date.fromisoformat(body["start"])
    assert (start.year * 12 + start.month) - (today.year * 12 + today.month) in (-3, -2)
    assert len(body["series"]) == (today - start).days + 1
    assert body["series"][0]["date"] == body["start"] and body["series"][-1]["date"] == body["end"]
    # Members 0, 1 (days 0-2, 40) are in the last 3 months; 2 (100, 200 days ago) and 3 (400) are not.
    assert body["total_active_users"] == 2
    assert body["series"][-1]["active_users"] == 2
    by_date = {point["date"]: point["active_users"] for point in body["series"]}
    assert by_date[(today - dt.timedelta(days=41)).isoformat()] == 0
    assert by_date[(today - dt.timedelta(days=40)).isoformat()] == 1
    assert by_date[(today - dt.timedelta(days=2)).isoformat()] == 2
    values = [point["active_users"] for point in body["series"]]
    assert values == sorted(values), "a cumulative series never decreases"
    assert body["computed_at"].endswith("Z")


@pytest.mark.parametrize(("period", "total"), [("30d", 2), ("3m", 2), ("6m", 3), ("12m", 3), ("all", 4)])
def test_summary_of_every_period(acme_activity, admin_client, period, total):
    body = admin_client.get(SUMMARY, {"period": period}).json()
    assert body["period"] == period
    assert body["total_active_users"] == total
    if period == "30d":
        assert body["start"] == (acme_activity - dt.timedelta(days=29)).isoformat()
    if period == "all":
        assert body["start"] == (acme_activity - dt.timedelta(days=400)).isoformat()


def test_timeseries_defaults_to_six_months_of_zero_filled_days(acme_activity, admin_client):
    today = acme_activity
    body = admin_client.get(TIMESERIES).json()
    assert set(body) == {"period", "start", "end", "series", "computed_at"}
    assert body["period"] == "6m" and body["end"] == today.isoformat()
    start = dt.date.fromisoformat(body["start"])
    expected_dates = [(start + dt.timedelta(days=i)).isoformat() for i in range((today - start).days + 1)]
    assert [point["date"] for point in body["series"]] == expected_dates
    by_date = {point["date"]: point["active_users"] for point in body["series"]}
    assert by_date[today.isoformat()] == 1
    assert by_date[(today - dt.timedelta(days=1)).isoformat()] == 2
    assert by_date[(today - dt.timedelta(days=100)).isoformat()] == 1
    assert sum(by_date.values()) == 1 + 2 + 1 + 1 + 1  # days 0, 1, 2, 40, 100
    assert by_date[(today - dt.timedelta(days=3)).isoformat()] == 0


@pytest.mark.parametrize("url", [SUMMARY, TIMESERIES])
@pytest.mark.parametrize("bad", ["1y", "3M", "30", "all-time", "-1"])
def test_an_unknown_period_is_a_400_naming_the_allowed_values(acme_activity, admin_client, url, bad):
    response = admin_client.get(url, {"period": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == f"Unknown period '{bad}'. {ALLOWED}"
    assert body["errors"] == {"period": [body["detail"]]}


@pytest.mark.parametrize("url", [SUMMARY, TIMESERIES])
def test_members_get_403_and_anonymous_401(acme_activity, acme_client, url):
    assert acme_client.get(url).status_code == 401
    login(acme_client, "member@acme.test")
    response = acme_client.get(url)
    assert response.status_code == 403
    assert "detail" in response.json()


def test_an_admin_api_key_works(acme_activity, acme_client, acme):
    connection.set_tenant(acme)
    secret, prefix, key_hash = generate_api_key()
    admin = Membership.objects.get(email="admin@acme.test")
    ApiKey.objects.create(membership=admin, prefix=prefix, key_hash=key_hash)
    connection.set_schema_to_public()
    response = acme_client.get(SUMMARY, {"period": "all"}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["total_active_users"] == 4


def test_figures_are_per_org(acme_activity, globex_client, globex):
    login(globex_client, "admin@globex.test")
    body = globex_client.get(SUMMARY, {"period": "all"}).json()
    connection.set_tenant(globex)
    assert body["total_active_users"] == ActivityDay.objects.values("membership").distinct().count()
    assert body["total_active_users"] <= 1, "globex has one member; acme's four never show here"


def test_reads_are_a_constant_number_of_queries_of_the_aggregates_only(acme_activity, admin_client):
    counts = {}
    for period in ("30d", "all"):
        for url in (SUMMARY, TIMESERIES):
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(url, {"period": period}).status_code == 200
            counts[url, period] = len(queries)
            assert not any("activity_activityday" in query["sql"] for query in queries.captured_queries)
    assert len(set(counts.values())) == 1, counts


def test_a_new_small_org_is_computed_on_first_read(acme_activity, admin_client, acme):
    connection.set_tenant(acme)
    clear_aggregates()
    connection.set_schema_to_public()
    body = admin_client.get(SUMMARY, {"period": "all"}).json()
    assert body["total_active_users"] == 4
    assert body["computed_at"] is not None


def test_a_large_org_never_computed_answers_zeros_and_queues_a_refresh(
    acme_activity, admin_client, acme, monkeypatch, django_capture_on_commit_callbacks
):
    from activity import tasks

    connection.set_tenant(acme)
    clear_aggregates()
    connection.set_schema_to_public()
    monkeypatch.setattr(aggregates, "activity_is_small", lambda **kwargs: False)
    queued = []
    monkeypatch.setattr(tasks.refresh_organization_activity, "delay", lambda *a, **k: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        body = admin_client.get(TIMESERIES, {"period": "30d"}).json()
    assert body["computed_at"] is None
    assert len(body["series"]) == 30
    assert {point["active_users"] for point in body["series"]} == {0}
    assert queued == [()]


def test_openapi_schema_documents_both_endpoints(acme_client):
    response = acme_client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    for path, default, fields in (
        (
            "/api/v1/activity/summary/",
            "3m",
            {"period", "start", "end", "total_active_users", "by_kind", "series", "computed_at"},
        ),
        ("/api/v1/activity/timeseries/", "6m", {"period", "start", "end", "series", "computed_at"}),
    ):
        operation = schema["paths"][path]["get"]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "period"]
        assert set(parameter["schema"]["enum"]) == {"30d", "3m", "6m", "12m", "all"}
        assert parameter["schema"]["default"] == default
        assert "400" in operation["responses"] and "403" in operation["responses"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(schema["components"]["schemas"][ref]["properties"]) == fields
