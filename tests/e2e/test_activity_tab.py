"""The Activity tab in Chromium: both charts show the API's numbers, period switches redraw
without a reload, hovering shows the point's date and number, errors are recoverable."""

import datetime as dt
import json
import random
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from accounts.models import Membership
from activity.aggregates import refresh_activity
from activity.models import ActivityDay, AggregateState, DayFigures, MemberPeriodDays, PeriodFigures
from activity.periods import today_utc
from orgdash.core.models import Organization
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in, org_url, screenshot
from tests.factories import make_member, make_user

SUMMARY = '[data-chart="summary"]'
TIMESERIES = '[data-chart="timeseries"]'


@pytest.fixture
def acme_history(committed):
    """Forty members of acme with about 14 months of weekday-heavy, growing activity (committed)."""
    acme = Organization.objects.get(slug="acme")
    rng = random.Random(5)
    today = today_utc()
    tag = uuid.uuid4().hex[:8]
    with tenant_context(acme):
        members = [make_member(user=make_user(email=f"activity-{tag}-{i}@example.test")) for i in range(40)]
        rows = []
        for index, member in enumerate(members):
            joined = rng.randint(0, 420)  # days ago
            keen = rng.uniform(0.15, 0.6)
            for offset in range(joined, -1, -1):
                day = today - dt.timedelta(days=offset)
                weekday_factor = 1.0 if day.weekday() < 5 else 0.25
                if index % 9 == 0 and offset < 150:
                    continue  # some members went quiet months ago
                if rng.random() < keen * weekday_factor:
                    moment = dt.datetime.combine(day, dt.time(rng.randint(7, 19)), dt.UTC)
                    rows.append(ActivityDay(membership=member, day=day, kinds=2, first_seen=moment, last_seen=moment))
        ActivityDay.objects.bulk_create(rows, ignore_conflicts=True)
        refresh_activity(full=True, wait=True)
    connection.set_schema_to_public()
    yield members  # a test may add members; they are removed with the others
    with tenant_context(acme):
        ActivityDay.objects.filter(membership__in=members).delete()
        Membership.objects.filter(pk__in=[member.pk for member in members]).delete()
        get_user_model().objects.filter(pk__in=[member.user_id for member in members]).delete()
        for model in (DayFigures, PeriodFigures, MemberPeriodDays, AggregateState):
            model.objects.all().delete()
    connection.set_schema_to_public()


def api(page, endpoint: str, period: str) -> dict:
    return page.evaluate(
        """async ([endpoint, period]) => {
            const url = `/api/v1/activity/${endpoint}/?period=${period}`;
            const response = await fetch(url, {credentials: 'same-origin'});
            return await response.json();
        }""",
        [endpoint, period],
    )


def chart_points(page, card: str) -> list[dict]:
    return page.evaluate(
        """(card) => Chart.getChart(document.querySelector(card + ' canvas')).data.datasets[0].data
                .map(p => ({date: p.date, active_users: p.active_users}))""",
        card,
    )


def wait_for_points(page, card: str, count: int):
    page.wait_for_function(
        """([card, count]) => {
            const chart = Chart.getChart(document.querySelector(card + ' canvas'));
            return chart && chart.data.datasets[0].data.length === count
                && document.querySelector(card).dataset.state !== 'loading';
        }""",
        arg=[card, count],
    )


def open_activity_tab(page, port):
    log_in(page, port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", port, "/org/dashboard/activity/"))
    for card in (SUMMARY, TIMESERIES):
        expect(page.locator(card)).to_have_attribute("data-state", "ready")


def long_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


def test_both_charts_show_the_api_figures_and_periods_switch_without_reload(page, live_server_port, acme_history):
    open_activity_tab(page, live_server_port)

    summary = api(page, "summary", "3m")
    timeseries = api(page, "timeseries", "6m")
    assert summary["total_active_users"] > 0
    assert chart_points(page, SUMMARY) == summary["series"]
    assert chart_points(page, TIMESERIES) == timeseries["series"]
    expect(page.locator(f"{SUMMARY} [data-total]")).to_have_text(f"{summary['total_active_users']:,}")
    expect(page.locator(f"{SUMMARY} select")).to_have_value("3m")
    expect(page.locator(f"{TIMESERIES} select")).to_have_value("6m")
    expect(page.locator("[data-computed]")).to_contain_text("Figures computed")
    expect(page.locator("[data-computed]")).to_contain_text("UTC")

    page.evaluate("window.__samePage = true")
    page.locator(TIMESERIES).get_by_label("Period", exact=True).select_option("30d")
    wait_for_points(page, TIMESERIES, 30)
    assert chart_points(page, TIMESERIES) == api(page, "timeseries", "30d")["series"]

    yearly = api(page, "summary", "12m")
    assert yearly["total_active_users"] >= summary["total_active_users"]
    page.locator(SUMMARY).get_by_label("Period", exact=True).select_option("12m")
    wait_for_points(page, SUMMARY, len(yearly["series"]))
    assert chart_points(page, SUMMARY) == yearly["series"]
    expect(page.locator(f"{SUMMARY} [data-total]")).to_have_text(f"{yearly['total_active_users']:,}")

    # With the keyboard alone: focus the drop-down and pick "All time".
    select = page.locator(SUMMARY).get_by_label("Period", exact=True)
    select.focus()
    page.keyboard.press("End")
    everything = api(page, "summary", "all")
    wait_for_points(page, SUMMARY, len(everything["series"]))
    assert chart_points(page, SUMMARY) == everything["series"]
    assert page.evaluate("window.__samePage") is True, "no page reload"

    # The text alternative holds the same numbers.
    page.locator(TIMESERIES).get_by_text("Show the data as a table").click()
    rows = page.locator(f"{TIMESERIES} tbody tr")
    expect(rows).to_have_count(30)
    last = api(page, "timeseries", "30d")["series"][-1]
    expect(rows.last).to_contain_text(str(last["active_users"]))


def test_hovering_a_point_shows_its_date_and_number(page, live_server_port, acme_history):
    open_activity_tab(page, live_server_port)
    series = api(page, "timeseries", "6m")["series"]
    index = max(i for i, point in enumerate(series[:-3]) if point["active_users"] > 0)
    point = series[index]
    page.locator(f"{TIMESERIES} canvas").scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([card, index]) => {
            const canvas = document.querySelector(card + ' canvas');
            const element = Chart.getChart(canvas).getDatasetMeta(0).data[index];
            const box = canvas.getBoundingClientRect();
            return [box.left + element.x, box.top + element.y];
        }""",
        [TIMESERIES, index],
    )
    page.mouse.move(x, y)
    tooltip = page.locator(f"{TIMESERIES} [data-tooltip]")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(long_date(point["date"]))
    expect(tooltip).to_contain_text(f"{point['active_users']:,} active user")

    summary = api(page, "summary", "3m")
    last = summary["series"][-1]
    page.locator(f"{SUMMARY} canvas").scroll_into_view_if_needed()
    box = page.locator(f"{SUMMARY} canvas").bounding_box()
    x, y = page.evaluate(
        """(card) => {
            const canvas = document.querySelector(card + ' canvas');
            const meta = Chart.getChart(canvas).getDatasetMeta(0).data;
            const element = meta[meta.length - 1];
            return [element.x, element.y];
        }""",
        SUMMARY,
    )
    page.mouse.move(box["x"] + x - 1, box["y"] + y)
    summary_tooltip = page.locator(f"{SUMMARY} [data-tooltip]")
    expect(summary_tooltip).to_contain_text(long_date(last["date"]))
    expect(summary_tooltip).to_contain_text(f"{last['active_users']:,} unique active users since")
    screenshot(page, "activity-tab")


def test_readable_at_tablet_width(new_page, live_server_port, acme_history):
    page = new_page(viewport={"width": 800, "height": 1000})
    open_activity_tab(page, live_server_port)
    assert page.evaluate("document.documentElement.scrollWidth") <= 800, "no horizontal scrolling"
    for card in (SUMMARY, TIMESERIES):
        box = page.locator(f"{card} canvas").bounding_box()
        assert box["width"] > 600 and box["height"] >= 200
        expect(page.locator(card).get_by_label("Period", exact=True)).to_be_visible()
    screenshot(page, "activity-tab-tablet")


def test_an_error_is_shown_and_retry_recovers(page, live_server_port, acme_history):
    page.route("**/api/v1/activity/timeseries/**", lambda route: route.fulfill(status=500, body="{}"))
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/activity/"))
    card = page.locator(TIMESERIES)
    expect(card).to_have_attribute("data-state", "error")
    expect(card.get_by_role("alert")).to_contain_text("Could not load the figures")
    expect(page.locator(SUMMARY)).to_have_attribute("data-state", "ready")
    page.unroute("**/api/v1/activity/timeseries/**")
    card.get_by_role("button", name="Try again").click()
    expect(card).to_have_attribute("data-state", "ready")
    assert chart_points(page, TIMESERIES) == api(page, "timeseries", "6m")["series"]


def test_the_page_polls_in_the_background_and_redraws_fresh_figures(page, live_server_port, acme_history):
    page.clock.install()
    calls = []
    page.on(
        "request",
        lambda request: (
            calls.append(request.headers.get("x-orgdash-background")) if "/api/v1/activity/" in request.url else None
        ),
    )
    open_activity_tab(page, live_server_port)
    before = api(page, "summary", "3m")
    assert calls and all(header is None for header in calls), "the first load is an ordinary request"

    # Someone new is active today; Celery's next refresh counts them.
    acme = Organization.objects.get(slug="acme")
    with tenant_context(acme):
        newcomer = make_member(user=make_user(email=f"newcomer-{uuid.uuid4().hex[:8]}@example.test"))
        acme_history.append(newcomer)
        now = dt.datetime.now(dt.UTC)
        ActivityDay.objects.create(membership=newcomer, day=today_utc(), kinds=1, first_seen=now, last_seen=now)
        refresh_activity(wait=True)
    connection.set_schema_to_public()

    after = api(page, "summary", "3m")
    assert after["total_active_users"] > before["total_active_users"]
    calls.clear()
    page.clock.fast_forward("01:05")
    total = page.locator(f"{SUMMARY} [data-total]")
    expect(total).to_have_text(f"{after['total_active_users']:,}")
    assert "1" in calls, "polling asks with X-Orgdash-Background: 1, so it is not counted as activity"
    assert chart_points(page, SUMMARY) == api(page, "summary", "3m")["series"]


def _zeros(period: str, computed_at, total=True) -> str:
    today = today_utc()
    days = [(today - dt.timedelta(days=29 - i)).isoformat() for i in range(30)]
    body = {
        "period": period,
        "start": days[0],
        "end": days[-1],
        "series": [{"date": day, "active_users": 0} for day in days],
        "computed_at": computed_at,
    }
    if total:
        body["total_active_users"] = 0
    return json.dumps(body)


@pytest.mark.parametrize(
    ("computed_at", "message"),
    [(None, "being computed"), ("2026-01-01T00:00:00Z", "No activity in this period yet")],
)
def test_a_new_org_sees_an_empty_state(page, live_server_port, computed_at, message):
    # A brand-new org's answers (no figures yet, or figures that are all zero), served to the page.
    page.route(
        "**/api/v1/activity/summary/**",
        lambda route: route.fulfill(status=200, content_type="application/json", body=_zeros("3m", computed_at)),
    )
    page.route(
        "**/api/v1/activity/timeseries/**",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=_zeros("6m", computed_at, total=False)
        ),
    )
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/activity/"))
    for card in (SUMMARY, TIMESERIES):
        expect(page.locator(card).get_by_role("status")).to_contain_text(message)
    expect(page.locator(f"{SUMMARY} [data-total]")).to_have_text("0")
