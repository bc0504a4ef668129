"""The Activity tab's second round in Chromium: engagement tiles, Day/Week/Month, the stacked view
by surface with a legend that toggles series, today's partial point, the most active users (their
names link to the person), choices kept in the URL, the CSV download against the API; at 1366 and
390 px."""

import csv
import datetime as dt
import io
import random
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from accounts.models import Membership
from activity.aggregates import refresh_activity
from activity.models import ActivityDay, ActivityKind, AggregateState, DayFigures, MemberPeriodDays, PeriodFigures
from activity.periods import today_utc
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.factories import make_member, make_user

TIMESERIES = '[data-chart="timeseries"]'
LEADERS = "[data-leaders]"
KPIS = "[data-kpis]"
KINDS = [kind.value for kind in ActivityKind]


@pytest.fixture
def acme_insights(committed):
    """Thirty members of acme with about 8 months of mixed-kind activity (committed)."""
    acme = Organization.objects.get(slug="acme")
    rng = random.Random(13)
    today = today_utc()
    tag = uuid.uuid4().hex[:8]
    with tenant_context(acme):
        members = [
            make_member(user=make_user(email=f"insights-{tag}-{i}@example.test", name=f"Insights Person {i}"))
            for i in range(30)
        ]
        rows = []
        for index, member in enumerate(members):
            keen = 0.1 + 0.8 * index / 30
            for offset in range(240, -1, -1):
                if rng.random() < keen:
                    day = today - dt.timedelta(days=offset)
                    kinds = 0
                    while not kinds:
                        kinds = sum(kind for kind in KINDS if rng.random() < 0.35)
                    moment = dt.datetime.combine(day, dt.time(rng.randint(0, 23)), dt.UTC)
                    rows.append(
                        ActivityDay(membership=member, day=day, kinds=kinds, first_seen=moment, last_seen=moment)
                    )
        ActivityDay.objects.bulk_create(rows, ignore_conflicts=True)
        refresh_activity(full=True, wait=True)
    connection.set_schema_to_public()
    yield members
    with tenant_context(acme):
        ActivityDay.objects.filter(membership__in=members).delete()
        Membership.objects.filter(pk__in=[member.pk for member in members]).delete()
        get_user_model().objects.filter(pk__in=[member.user_id for member in members]).delete()
        for model in (DayFigures, PeriodFigures, MemberPeriodDays, AggregateState):
            model.objects.all().delete()
    connection.set_schema_to_public()


def api(page, path: str):
    return page.evaluate(
        """async (path) => {
            const response = await fetch('/api/v1/activity/' + path, {credentials: 'same-origin'});
            const type = response.headers.get('content-type') || '';
            return type.includes('json') ? await response.json() : await response.text();
        }""",
        path,
    )


def datasets(page) -> list[dict]:
    return page.evaluate(
        """(card) => Chart.getChart(document.querySelector(card + ' canvas')).data.datasets.map((set, i, all) => ({
            label: set.label,
            visible: Chart.getChart(document.querySelector(card + ' canvas')).isDatasetVisible(i),
            points: set.data.map(p => ({date: p.date, active_users: p.active_users, partial: p.partial}))
        }))""",
        TIMESERIES,
    )


def wait_ready(page, card: str):
    expect(page.locator(card)).to_have_attribute("data-state", "ready")


def open_tab(page, port, query: str = ""):
    log_in(page, port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", port, "/org/dashboard/activity/" + query))
    for card in (KPIS, TIMESERIES, LEADERS):
        wait_ready(page, card)


def _strip(points):
    return [{key: point.get(key) for key in ("date", "active_users", "partial")} for point in points]


def test_intervals_surfaces_and_the_url(page, live_server_port, acme_insights):
    open_tab(page, live_server_port)
    today = today_utc().isoformat()

    # Engagement tiles show the API's figures and their change.
    engagement = api(page, "engagement/")
    expect(page.locator('[data-kpi="dau"] [data-value]')).to_have_text(f"{engagement['dau']:,}")
    expect(page.locator('[data-kpi="mau"] [data-value]')).to_have_text(f"{engagement['mau']:,}")
    expect(page.locator('[data-kpi="wau"] [data-change]')).to_contain_text("vs 30 days earlier")
    expect(page.locator('[data-kpi="stickiness"] [data-value]')).to_contain_text("%")
    expect(page.locator("[data-note]")).to_contain_text("Users tab")

    # Day: today's point is marked partial ("so far") and the chart says why.
    (total,) = datasets(page)
    assert _strip(total["points"]) == _strip(api(page, "timeseries/?period=6m")["series"])
    assert total["points"][-1]["date"] == today
    expect(page.locator(f"{TIMESERIES} [data-partial-note]")).to_be_visible()
    page.locator(TIMESERIES).get_by_text("Show the data as a table").click()
    expect(page.locator(f"{TIMESERIES} tbody tr").last).to_contain_text("so far")

    # Week, then Month, by keyboard: the radio group moves with the arrow keys.
    page.locator(TIMESERIES).get_by_role("radio", name="Day").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(TIMESERIES).get_by_role("radio", name="Week")).to_be_checked()
    weekly = api(page, "timeseries/?period=6m&interval=week")["series"]
    page.wait_for_function(
        "([card, n]) => Chart.getChart(document.querySelector(card + ' canvas')).data.datasets[0].data.length === n",
        arg=[TIMESERIES, len(weekly)],
    )
    wait_ready(page, TIMESERIES)
    assert _strip(datasets(page)[0]["points"]) == _strip(weekly)
    expect(page.locator(f"{TIMESERIES} thead")).to_contain_text("Week")
    page.locator(TIMESERIES).get_by_role("radio", name="Month").click()
    monthly = api(page, "timeseries/?period=6m&interval=month")["series"]
    page.wait_for_function(
        "([card, n]) => Chart.getChart(document.querySelector(card + ' canvas')).data.datasets[0].data.length === n",
        arg=[TIMESERIES, len(monthly)],
    )
    wait_ready(page, TIMESERIES)
    assert _strip(datasets(page)[0]["points"]) == _strip(monthly)

    # Stacked by surface, then hide the SDK series from the legend.
    page.locator(TIMESERIES).get_by_role("radio", name="By surface").click()
    legend = page.locator(f"{TIMESERIES} [data-legend]")
    expect(legend.get_by_role("button")).to_have_count(4)
    wait_ready(page, TIMESERIES)
    shown = datasets(page)
    assert [set_["label"] for set_ in shown] == ["Web pages and log-ins", "API", "SDK", "Runs"]
    for set_, surface in zip(shown, ("web", "api", "sdk", "runs"), strict=True):
        expected = api(page, f"timeseries/?period=6m&interval=month&surface={surface}")["series"]
        assert _strip(set_["points"]) == _strip(expected)
    sdk = legend.get_by_role("button", name="SDK")
    expect(sdk).to_have_attribute("aria-pressed", "true")
    sdk.focus()
    page.keyboard.press("Enter")
    expect(sdk).to_have_attribute("aria-pressed", "false")
    assert [set_["visible"] for set_ in datasets(page)] == [True, True, False, True]

    # Periods and choices live in the URL: a reload keeps them.
    page.locator(TIMESERIES).get_by_label("Period", exact=True).select_option("12m")
    page.locator(LEADERS).get_by_label("Period", exact=True).select_option("3m")
    wait_ready(page, LEADERS)
    assert "period=12m" in page.url and "interval=month" in page.url and "view=surface" in page.url
    assert "top=3m" in page.url
    page.reload()
    for card in (TIMESERIES, LEADERS):
        wait_ready(page, card)
    expect(page.locator(TIMESERIES).get_by_label("Period", exact=True)).to_have_value("12m")
    expect(page.locator(TIMESERIES).get_by_role("radio", name="Month")).to_be_checked()
    expect(page.locator(TIMESERIES).get_by_role("radio", name="By surface")).to_be_checked()
    expect(page.locator(LEADERS).get_by_label("Period", exact=True)).to_have_value("3m")
    assert len(datasets(page)) == 4
    screenshot(page, "activity-insights-1366")


def test_leaderboard_links_to_the_person(page, live_server_port, acme_insights):
    open_tab(page, live_server_port)
    leaders = api(page, "top-users/?period=30d&limit=10")["results"]
    assert len(leaders) == 10
    rows = page.locator(f"{LEADERS} tbody tr")
    expect(rows).to_have_count(10)

    def shown(user):
        return user["name"] or user["username"] or user["email"]

    for index, entry in enumerate(leaders):
        expect(rows.nth(index)).to_contain_text(shown(entry["user"]))
        expect(rows.nth(index).locator("td").nth(2)).to_have_text(str(entry["days_active"]))
    top = leaders[0]["user"]
    link = rows.first.get_by_role("link", name=shown(top))
    expect(link).to_have_attribute("href", f"/org/dashboard/users/{top['id']}/")
    link.click()
    page.wait_for_url(f"**/org/dashboard/users/{top['id']}/")


def test_download_csv_matches_the_api(page, live_server_port, acme_insights):
    open_tab(page, live_server_port, "?period=3m")
    download_link = page.locator(TIMESERIES).get_by_role("link", name="Download CSV")
    with page.expect_download() as info:
        download_link.click()
    path = info.value.path()
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert lines[0] == ["date", "active_users", "login", "page_view", "run_logged", "sdk", "api"]
    daily = api(page, "timeseries/?period=3m")["series"]
    assert [[point["date"], str(point["active_users"])] for point in daily] == [line[:2] for line in lines[1:]]
    sdk = api(page, "timeseries/?period=3m&kind=sdk")["series"]
    assert [str(point["active_users"]) for point in sdk] == [line[5] for line in lines[1:]]
    assert lines[1:] == list(csv.reader(io.StringIO(api(page, "export.csv?period=3m"))))[1:]


def test_phone_width(new_page, live_server_port, acme_insights):
    page = new_page(viewport={"width": 390, "height": 844})
    open_tab(page, live_server_port, "?interval=week&view=surface")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no horizontal scrolling"
    for control in ("Week", "By surface"):
        expect(page.locator(TIMESERIES).get_by_role("radio", name=control)).to_be_checked()
    box = page.locator(f"{TIMESERIES} canvas").bounding_box()
    assert box["width"] > 300 and box["height"] >= 200
    expect(page.locator(f"{TIMESERIES} [data-legend] button")).to_have_count(4)
    expect(page.locator(f"{LEADERS} tbody tr").first).to_be_visible()
    screenshot(page, "activity-insights-390")


def test_the_tiles_and_leaderboard_show_their_errors_and_recover(page, live_server_port, acme_insights):
    page.route("**/api/v1/activity/top-users/**", lambda route: route.fulfill(status=500, body="{}"))
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/activity/"))
    card = page.locator(LEADERS)
    expect(card).to_have_attribute("data-state", "error")
    expect(card.get_by_role("alert")).to_contain_text("Could not load the figures")
    page.unroute("**/api/v1/activity/top-users/**")
    card.get_by_role("button", name="Try again").click()
    wait_ready(page, LEADERS)
    expect(card.locator("tbody tr")).to_have_count(10)
