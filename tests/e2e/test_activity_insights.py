"""The Activity tab's second round in Chromium: engagement tiles, Day/Week/Month, the view by
surface (one unstacked line per surface, each its own count of unique users, and it says so) with a
legend that toggles series, today's partial point and a first week or month the
period cuts, the most active users (their names link to the person), choices kept in the URL and
in the history (Back and Forward), the CSV download against the API; at 1366 and 390 px."""

import csv
import datetime as dt
import io
import json
import random
import re
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


def chart_shape(page) -> dict:
    """How the over-time chart is configured and scaled: stacking, each dataset's type and fill, the y-axis."""
    return page.evaluate(
        """(card) => {
            const chart = Chart.getChart(document.querySelector(card + ' canvas'));
            const y = chart.scales.y;
            return {
                stacked: Boolean(chart.options.scales.y.stacked),
                types: chart.data.datasets.map((set, i) => chart.getDatasetMeta(i).type),
                fills: chart.data.datasets.map((set) => set.fill),
                max: y.max,
                step: y.ticks.length > 1 ? y.ticks[1].value - y.ticks[0].value : 0,
            };
        }""",
        TIMESERIES,
    )


def assert_unstacked_lines(page, shown: list[dict]):
    """The surface view draws separate lines whose y-axis reaches the largest single count, not a sum."""
    shape = chart_shape(page)
    assert shape["stacked"] is False
    assert shape["types"] == ["line"] * len(shown)
    assert shape["fills"] == [False] * len(shown), "no area stacked or shaded under a surface's line"
    visible = [set_ for set_ in shown if set_["visible"]]
    largest = max(point["active_users"] for set_ in visible for point in set_["points"])
    sums = [sum(values) for values in zip(*([p["active_users"] for p in s["points"]] for s in visible), strict=True)]
    # The axis is the largest count with Chart.js's 8% grace, rounded up to the next tick.
    assert largest <= shape["max"] <= largest * 1.08 + shape["step"], (shape, largest)
    assert shape["max"] < max(sums), "the y-axis must not reach the surfaces' sum"


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
    assert chart_shape(page)["stacked"] is False and chart_shape(page)["fills"] == ["origin"]
    expect(page.locator(f"{TIMESERIES} [data-subtitle]")).to_have_text("How many users were active in each month")
    expect(page.locator(f"{TIMESERIES} [data-legend-note]")).to_be_hidden()

    # By surface: one line per surface, not stacked, and it says that a person counts on each;
    # then hide the SDK series from the legend.
    page.locator(TIMESERIES).get_by_role("radio", name="By surface").click()
    legend = page.locator(f"{TIMESERIES} [data-legend]")
    expect(legend.get_by_role("button")).to_have_count(4)
    wait_ready(page, TIMESERIES)
    shown = datasets(page)
    assert [set_["label"] for set_ in shown] == ["Web pages and log-ins", "API", "SDK", "Runs"]
    for set_, surface in zip(shown, ("web", "api", "sdk", "runs"), strict=True):
        expected = api(page, f"timeseries/?period=6m&interval=month&surface={surface}")["series"]
        assert _strip(set_["points"]) == _strip(expected)
    assert_unstacked_lines(page, shown)
    subtitle = page.locator(f"{TIMESERIES} [data-subtitle]")
    expect(subtitle).to_have_text("Users active on each surface in each month: one line per surface, not a total")
    expect(subtitle).not_to_contain_text("stacked")
    expect(page.locator(f"{TIMESERIES} [data-legend-note]")).to_have_text(
        "A person active on several surfaces counts in each, so the lines don't add up to the users active "
        "(the All view counts each person once)."
    )
    expect(page.locator(f"{TIMESERIES} canvas")).to_have_attribute("aria-label", re.compile("not stacked"))

    # The text alternative holds the same counts, one column per line, and says they don't add up.
    page.locator(TIMESERIES).get_by_text("Show the data as a table").click()
    expect(page.locator(f"{TIMESERIES} [data-table-note]")).to_contain_text(
        "A person active on several surfaces counts in each column"
    )
    expect(page.locator(f"{TIMESERIES} thead th")).to_have_text(
        ["Month", "Web pages and log-ins", "API", "SDK", "Runs"]
    )
    rows = page.locator(f"{TIMESERIES} tbody tr")
    expect(rows).to_have_count(len(shown[0]["points"]))
    for index in (0, len(shown[0]["points"]) - 1):
        cells = rows.nth(index).locator("td")
        expect(cells.nth(1)).to_have_text(f"{shown[0]['points'][index]['active_users']:,}")
        expect(cells.nth(4)).to_have_text(f"{shown[3]['points'][index]['active_users']:,}")

    # The tooltip names each surface's own count, as drawn.
    tooltip = hover(page, 1)
    for set_ in shown:
        expect(tooltip).to_contain_text(f"{set_['points'][1]['active_users']:,} users on {set_['label']}")
    expect(tooltip).to_contain_text("A person active on several surfaces counts in each.")
    page.mouse.move(0, 0)

    sdk = legend.get_by_role("button", name="SDK")
    expect(sdk).to_have_attribute("aria-pressed", "true")
    sdk.focus()
    page.keyboard.press("Enter")
    expect(sdk).to_have_attribute("aria-pressed", "false")
    assert [set_["visible"] for set_ in datasets(page)] == [True, True, False, True]
    page.wait_for_function(
        "(card) => !Chart.animator.running(Chart.getChart(document.querySelector(card + ' canvas')))", arg=TIMESERIES
    )
    assert_unstacked_lines(page, datasets(page))

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
    assert_unstacked_lines(page, datasets(page))
    expect(page.locator(f"{TIMESERIES} [data-legend-note]")).to_be_visible()
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


# --- Partial weeks and months -------------------------------------------------------------------


def marks(page, dataset: int = 0) -> dict:
    """How the over-time chart draws a dataset: which points are hollow, which segments dashed."""
    return page.evaluate(
        """([card, index]) => {
            const meta = Chart.getChart(document.querySelector(card + ' canvas')).getDatasetMeta(index);
            const dashed = [];
            for (const segment of meta.dataset.segments) {
                if (!(segment.style && segment.style.borderDash && segment.style.borderDash.length)) continue;
                for (let i = segment.start; i < segment.end; i++) dashed.push([i, i + 1]);
            }
            // The resolved style, not the drawn one, which may still be animating towards it.
            const hollow = meta.data.map((point, i) => meta.controller.getStyle(i).backgroundColor === '#fff');
            return {hollow, dashed};
        }""",
        [TIMESERIES, dataset],
    )


def expected_marks(series: list[dict]) -> dict:
    """A cut bucket is hollow; the segment leaving a cut first one and the one reaching a cut last one are dashed."""
    last = len(series) - 1
    dashed = []
    if last > 0 and series[0]["partial"]:
        dashed.append([0, 1])
    if last > 0 and series[last]["partial"] and [last - 1, last] not in dashed:
        dashed.append([last - 1, last])
    return {"hollow": [point["partial"] for point in series], "dashed": dashed}


def hover(page, index: int):
    page.locator(f"{TIMESERIES} canvas").scroll_into_view_if_needed()
    # Points still moving to their place would put the mouse on a neighbour.
    page.wait_for_function(
        "(card) => !Chart.animator.running(Chart.getChart(document.querySelector(card + ' canvas')))",
        arg=TIMESERIES,
    )
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
    return tooltip


def wait_points(page, count: int):
    page.wait_for_function(
        """([card, n]) => {
            const chart = Chart.getChart(document.querySelector(card + ' canvas'));
            return chart && chart.data.datasets[0].data.length === n
                && document.querySelector(card).dataset.state === 'ready';
        }""",
        arg=[TIMESERIES, count],
    )


def short_day(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day:%b} {day.day}"


def test_weeks_and_months_cut_by_the_period_are_marked_as_the_api_says(page, live_server_port, acme_insights):
    open_tab(page, live_server_port, "?interval=month")
    for period, interval in (("6m", "month"), ("30d", "week"), ("12m", "month"), ("3m", "week")):
        answer = api(page, f"timeseries/?period={period}&interval={interval}")
        series = answer["series"]
        page.locator(TIMESERIES).get_by_label("Period", exact=True).select_option(period)
        page.locator(TIMESERIES).get_by_role("radio", name=interval.capitalize()).check()
        wait_points(page, len(series))
        assert _strip(datasets(page)[0]["points"]) == _strip(series)
        assert marks(page) == expected_marks(series), (period, interval)

        first = hover(page, 0)
        if series[0]["partial"]:
            # The period starts inside the first bucket: it says so instead of looking like a drop.
            expect(first).to_contain_text(f"(from {short_day(answer['start'])}")
            expect(first).to_contain_text("the period starts there")
            expect(page.locator(f"{TIMESERIES} [data-partial-note]")).to_contain_text("dashed start")
        else:
            expect(first).not_to_contain_text("the period starts there")
        last = hover(page, len(series) - 1)
        if series[-1]["partial"]:
            expect(last).to_contain_text("(so far)")
        else:
            expect(last).not_to_contain_text("so far")
        page.mouse.move(0, 0)


def _months(start: str, end: str) -> dict:
    """A 6-month answer by month whose first month is cut by the period's start and last by today."""
    months = ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"]
    values = [3, 24, 26, 25, 27, 26, 21]
    series = [
        {"date": month, "active_users": value, "partial": index in (0, len(months) - 1)}
        for index, (month, value) in enumerate(zip(months, values, strict=True))
    ]
    return {"period": "6m", "start": start, "end": end, "series": series, "computed_at": "2026-11-29T10:00:00Z"}


def test_a_first_month_cut_by_the_period_is_drawn_and_told_as_partial(page, live_server_port):
    body = json.dumps(_months("2026-05-30", "2026-11-29"))
    page.route(
        "**/api/v1/activity/timeseries/**",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    page.goto(org_url("acme", live_server_port, "/org/dashboard/activity/?interval=month"))
    wait_ready(page, TIMESERIES)
    series = json.loads(body)["series"]
    assert marks(page) == {"hollow": [True, False, False, False, False, False, True], "dashed": [[0, 1], [5, 6]]}

    expect(hover(page, 0).locator(".chart-tooltip-date")).to_have_text(
        "May 2026 (from May 30: the period starts there)"
    )
    expect(hover(page, 1).locator(".chart-tooltip-date")).to_have_text("June 2026")
    expect(hover(page, 6).locator(".chart-tooltip-date")).to_have_text("November 2026 (so far)")
    expect(page.locator(f"{TIMESERIES} [data-partial-note]")).to_have_text(
        "The dashed start and end are partial: the first month from May 30 only (the period starts there), "
        "the current month so far; neither is a drop."
    )

    # The text alternative says the same.
    page.locator(TIMESERIES).get_by_text("Show the data as a table").click()
    rows = page.locator(f"{TIMESERIES} tbody tr")
    expect(rows).to_have_count(len(series))
    expect(rows.first).to_have_text("May 2026 (from May 30: the period starts there)3")
    expect(rows.nth(1)).to_have_text("June 202624")
    expect(rows.last).to_have_text("November 2026 (so far)21")

    # By surface, every line marks the same buckets; four equal lines overlap, they don't pile up.
    page.locator(TIMESERIES).get_by_role("radio", name="By surface").click()
    expect(page.locator(f"{TIMESERIES} [data-legend] button")).to_have_count(4)
    wait_ready(page, TIMESERIES)
    assert_unstacked_lines(page, datasets(page))
    assert chart_shape(page)["max"] < 2 * max(point["active_users"] for point in series)
    for index in range(4):
        assert marks(page, index) == {
            "hollow": [True, False, False, False, False, False, True],
            "dashed": [[0, 1], [5, 6]],
        }
    screenshot(page, "activity-partial-first-month")


# --- History --------------------------------------------------------------------------------------


def history_length(page) -> int:
    return page.evaluate("history.length")


def test_back_and_forward_return_to_the_previous_choices(page, live_server_port, acme_insights):
    log_in(page, live_server_port, "acme", "admin@acme.test", PASSWORD)
    before = history_length(page)
    # A hand-written query string is tidied in place: no extra entry on load.
    page.goto(org_url("acme", live_server_port, "/org/dashboard/activity/?period=6m&interval=hourly"))
    for card in (KPIS, TIMESERIES, LEADERS):
        wait_ready(page, card)
    tab = org_url("acme", live_server_port, "/org/dashboard/activity/")
    assert page.url == tab
    assert history_length(page) == before + 1
    six_months = api(page, "timeseries/?period=6m")["series"]
    thirty_days = api(page, "timeseries/?period=30d")["series"]
    monthly = api(page, "timeseries/?period=30d&interval=month")["series"]
    summary = api(page, "summary/?period=3m")
    yearly = api(page, "summary/?period=12m")
    period = page.locator(TIMESERIES).get_by_label("Period", exact=True)
    summary_period = page.locator('[data-chart="summary"]').get_by_label("Period", exact=True)
    summary_total = page.locator('[data-chart="summary"] [data-total]')
    page.evaluate("window.__samePage = true")

    # Each choice is a history entry.
    period.select_option("30d")
    wait_points(page, len(thirty_days))
    assert page.url == f"{tab}?period=30d"
    page.locator(TIMESERIES).get_by_role("radio", name="Month").click()
    wait_points(page, len(monthly))
    assert page.url == f"{tab}?period=30d&interval=month"
    summary_period.select_option("12m")
    expect(summary_total).to_have_text(f"{yearly['total_active_users']:,}")
    assert page.url == f"{tab}?summary=12m&period=30d&interval=month"
    assert history_length(page) == before + 4

    # Back walks the choices back, one at a time, redrawing the charts.
    page.go_back()
    expect(summary_period).to_have_value("3m")
    expect(summary_total).to_have_text(f"{summary['total_active_users']:,}")
    assert page.url == f"{tab}?period=30d&interval=month"
    expect(page.locator(TIMESERIES).get_by_role("radio", name="Month")).to_be_checked()
    page.go_back()
    expect(page.locator(TIMESERIES).get_by_role("radio", name="Day")).to_be_checked()
    wait_points(page, len(thirty_days))
    expect(period).to_have_value("30d")
    page.go_back()
    expect(period).to_have_value("6m")
    wait_points(page, len(six_months))
    assert _strip(datasets(page)[0]["points"]) == _strip(six_months)
    assert page.url == tab
    expect(page.locator(TIMESERIES).get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/activity/export.csv?period=6m"
    )

    # Forward goes the other way; the history itself is left as it was.
    page.go_forward()
    expect(period).to_have_value("30d")
    wait_points(page, len(thirty_days))
    assert _strip(datasets(page)[0]["points"]) == _strip(thirty_days)
    assert page.url == f"{tab}?period=30d"
    assert history_length(page) == before + 4
    assert page.evaluate("window.__samePage") is True, "no page reload"
