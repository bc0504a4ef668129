"""The second round's activity API (API.md "Second round" -> Activity): intervals, kinds, by_kind,
top users, engagement and the CSV export; bad parameters, permissions and the OpenAPI schema."""

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection

from activity.aggregates import refresh_activity
from activity.models import ActivityDay, ActivityKind, AggregateState, DayFigures, MemberPeriodDays, PeriodFigures
from activity.periods import today_utc
from tests.clock import Clock
from tests.conftest import login
from tests.factories import make_member

API = "/api/v1/activity/"
LOGIN, PAGE, RUN, SDK, KEY = (kind.value for kind in ActivityKind)


@pytest.fixture(autouse=True)
def _no_recording(settings):
    settings.ORGDASH_ACTIVITY_RECORDING = False


@pytest.fixture
def acme_kinds(in_acme, monkeypatch):
    """Four members active on known days (UTC) with known kinds; aggregates refreshed."""
    ActivityDay.objects.all().delete()
    for model in (DayFigures, PeriodFigures, MemberPeriodDays, AggregateState):
        model.objects.all().delete()
    Clock(monkeypatch)  # one instant for the rows laid out here, the refresh and the API's answers
    today = today_utc()
    members = [make_member() for _ in range(4)]
    plan = {
        0: {0: LOGIN | PAGE, 1: PAGE, 2: SDK, 9: PAGE, 35: KEY},
        1: {0: RUN, 3: RUN | SDK, 5: PAGE},
        2: {1: PAGE, 40: LOGIN},
        3: {45: KEY, 100: PAGE},
    }
    for index, days in plan.items():
        for offset, kinds in days.items():
            day = today - dt.timedelta(days=offset)
            moment = dt.datetime.combine(day, dt.time(12), dt.UTC)
            ActivityDay.objects.create(
                membership=members[index], day=day, kinds=kinds, first_seen=moment, last_seen=moment
            )
    refresh_activity(full=True)
    connection.set_schema_to_public()
    return today, members


@pytest.fixture
def admin_client(acme_client):
    login(acme_client, "admin@acme.test")
    return acme_client


def test_summary_counts_each_kind_and_filters_by_kind(acme_kinds, admin_client):
    body = admin_client.get(API + "summary/", {"period": "30d"}).json()
    assert body["total_active_users"] == 3  # member 3 was last active 45 days ago
    assert body["by_kind"] == {"login": 1, "page_view": 3, "run_logged": 1, "sdk": 2, "api": 0}
    sdk = admin_client.get(API + "summary/", {"period": "30d", "kind": "sdk"}).json()
    assert sdk["total_active_users"] == 2
    assert sdk["by_kind"] == body["by_kind"]
    assert sdk["series"][-1]["active_users"] == 2
    assert [p["active_users"] for p in sdk["series"]][-4:] == [1, 2, 2, 2]  # member 1 on day -3, member 0 on -2


def test_timeseries_by_kind(acme_kinds, admin_client):
    today, _ = acme_kinds
    body = admin_client.get(API + "timeseries/", {"period": "3m", "kind": "page_view"}).json()
    by_date = {p["date"]: p["active_users"] for p in body["series"]}
    assert by_date[today.isoformat()] == 1
    assert by_date[(today - dt.timedelta(days=1)).isoformat()] == 2
    assert by_date[(today - dt.timedelta(days=5)).isoformat()] == 1
    assert by_date[(today - dt.timedelta(days=40)).isoformat()] == 0  # a login that day, not a page view
    assert all("partial" not in point for point in body["series"])
    # The web surface: a log-in or a page view (member 2's log-in 40 days ago counts).
    web = admin_client.get(API + "timeseries/", {"period": "3m", "surface": "web"}).json()
    by_date = {p["date"]: p["active_users"] for p in web["series"]}
    assert by_date[(today - dt.timedelta(days=40)).isoformat()] == 1
    assert by_date[(today - dt.timedelta(days=1)).isoformat()] == 2
    runs = admin_client.get(API + "timeseries/", {"period": "3m", "surface": "runs"}).json()
    assert sum(p["active_users"] for p in runs["series"]) == 2  # member 1, days 0 and 3


@pytest.mark.parametrize("interval", ["week", "month"])
def test_week_and_month_buckets_cover_the_period_with_partial_ends(acme_kinds, admin_client, interval):
    today, _ = acme_kinds
    body = admin_client.get(API + "timeseries/", {"period": "3m", "interval": interval}).json()
    start = dt.date.fromisoformat(body["start"])
    points = body["series"]
    dates = [dt.date.fromisoformat(p["date"]) for p in points]
    if interval == "week":
        assert all(day.weekday() == 0 for day in dates)
        assert dates[0] <= start < dates[0] + dt.timedelta(days=7)
        assert dates[-1] <= today < dates[-1] + dt.timedelta(days=7)
        assert points[-1]["partial"] == (today.weekday() != 6)
    else:
        assert all(day.day == 1 for day in dates)
        assert (dates[0].year, dates[0].month) == (start.year, start.month)
        assert (dates[-1].year, dates[-1].month) == (today.year, today.month)
        assert points[-1]["partial"] == ((today + dt.timedelta(days=1)).day != 1)
    assert points[0]["partial"] == (dates[0] < start)
    assert all(not p["partial"] for p in points[1:-1])
    # Each bucket counts each person once: the four members' days fall in these buckets.
    total = admin_client.get(API + "summary/", {"period": "3m"}).json()["total_active_users"]
    assert max(p["active_users"] for p in points) <= total
    this_bucket = points[-1]["active_users"]
    assert this_bucket >= 1  # members 0 and 1 were active today


def test_top_users_rank_by_days_then_last_active_then_id(acme_kinds, admin_client):
    today, members = acme_kinds
    body = admin_client.get(API + "top-users/").json()
    assert body["period"] == "30d" and body["end"] == today.isoformat()
    rows = [(row["user"]["id"], row["days_active"], row["last_active"]) for row in body["results"]]
    assert rows == [
        (members[0].pk, 4, today.isoformat()),
        (members[1].pk, 3, today.isoformat()),
        (members[2].pk, 1, (today - dt.timedelta(days=1)).isoformat()),
    ]
    assert body["results"][0]["user"]["email"] == members[0].email
    limited = admin_client.get(API + "top-users/", {"period": "all", "limit": 2}).json()
    assert [row["user"]["id"] for row in limited["results"]] == [members[0].pk, members[1].pk]
    everyone = admin_client.get(API + "top-users/", {"period": "all", "limit": 100}).json()
    assert {row["user"]["id"] for row in everyone["results"]} >= {member.pk for member in members}


def test_engagement_now_and_thirty_days_earlier(acme_kinds, admin_client):
    today, _ = acme_kinds
    body = admin_client.get(API + "engagement/").json()
    assert body["as_of"] == today.isoformat()
    assert (body["dau"], body["wau"], body["mau"]) == (2, 3, 3)
    # Daily actives over the 30 days: 2+2+1+1+1+1 (days 0,1,2,3,5,9) = 8; 8 / 30 / 3 = 0.0888...
    assert body["stickiness"] == 0.089
    # As of 30 days ago: member 0 (day 35), 2 (day 40), 3 (day 45) in its 30 days; nobody that day.
    assert body["previous"] == {"dau": 0, "wau": 1, "mau": 3, "stickiness": 0.033}
    assert body["computed_at"].endswith("Z")


def test_export_csv_has_one_line_per_day_and_matches_the_timeseries(acme_kinds, admin_client):
    response = admin_client.get(API + "export.csv", {"period": "30d"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == ["date", "active_users", "login", "page_view", "run_logged", "sdk", "api"]
    assert len(lines) == 1 + 30
    for column, kind in enumerate([None, "login", "page_view", "run_logged", "sdk", "api"], start=1):
        params = {"period": "30d", **({"kind": kind} if kind else {})}
        series = admin_client.get(API + "timeseries/", params).json()["series"]
        assert [[p["date"], str(p["active_users"])] for p in series] == [[line[0], line[column]] for line in lines[1:]]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("timeseries/", {"interval": "year"}, "Unknown interval 'year'. Allowed values: day, week, month."),
        (
            "timeseries/",
            {"kind": "click"},
            "Unknown kind 'click'. Allowed values: login, page_view, run_logged, sdk, api.",
        ),
        ("summary/", {"kind": "SDK"}, "Unknown kind 'SDK'."),
        ("timeseries/", {"surface": "mobile"}, "Unknown surface 'mobile'. Allowed values: web, api, sdk, runs."),
        ("timeseries/", {"surface": "web", "kind": "login"}, "Give either kind or surface, not both."),
        ("top-users/", {"limit": "0"}, "limit must be a whole number from 1 to 100."),
        ("top-users/", {"limit": "101"}, "limit must be a whole number from 1 to 100."),
        ("top-users/", {"limit": "ten"}, "limit must be a whole number from 1 to 100."),
        ("top-users/", {"period": "1y"}, "Unknown period '1y'."),
        ("export.csv", {"period": "7d"}, "Unknown period '7d'."),
    ],
)
def test_bad_parameters_are_a_400_with_a_message(acme_kinds, admin_client, path, params, message):
    response = admin_client.get(API + path, params)
    assert response.status_code == 400
    assert message in json.dumps(response.json())


@pytest.mark.parametrize("name", ["period", "kind", "interval", "surface", "limit"])
@pytest.mark.parametrize("path", ["timeseries/", "summary/", "top-users/", "export.csv"])
def test_a_parameter_given_two_different_values_is_a_400(acme_kinds, admin_client, path, name):
    values = {
        "period": ["30d", "all"],
        "kind": ["login", "sdk"],
        "interval": ["day", "week"],
        "surface": ["web", "api"],
        "limit": ["5", "7"],
    }[name]
    response = admin_client.get(API + path, {name: values})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["errors"][name] == [f"Give {name} one value; it was given 2 different ones."]
    # The same value twice (a link's parameters merged with the client's own) is that value.
    same = admin_client.get(API + path, {name: [values[0], values[0]]})
    assert same.status_code == 200 and body(same) == body(admin_client.get(API + path, {name: values[0]}))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("path", ["top-users/", "engagement/", "export.csv", "timeseries/?interval=week"])
def test_members_get_403(acme_kinds, acme_client, path):
    login(acme_client, "member@acme.test")
    assert acme_client.get(API + path).status_code == 403


def test_openapi_schema_documents_the_new_endpoints_and_parameters(acme_client):
    schema = json.loads(acme_client.get("/api/v1/schema/", {"format": "json"}).content)
    paths = schema["paths"]

    def parameter(path, name):
        (found,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == name]
        return found["schema"]

    assert set(parameter(API + "timeseries/", "interval")["enum"]) == {"day", "week", "month"}
    for path in (API + "timeseries/", API + "summary/"):
        assert set(parameter(path, "kind")["enum"]) == {"login", "page_view", "run_logged", "sdk", "api"}
    limit = parameter(API + "top-users/", "limit")
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 10)
    assert parameter(API + "top-users/", "period")["default"] == "30d"
    assert "text/csv" in paths[API + "export.csv"]["get"]["responses"]["200"]["content"]
    assert "200" in paths[API + "engagement/"]["get"]["responses"]
    components = schema["components"]["schemas"]
    assert {"dau", "wau", "mau", "stickiness", "previous", "as_of"} <= set(components["EngagementOutput"]["properties"])
    assert "by_kind" in components["SummaryOutput"]["properties"]
