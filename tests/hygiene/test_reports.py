"""Usage reports: the periods, figures equal to the API's for the same period, the e-mail (HTML,
plain text, CSV of the inactive people), and one scheduled report per period however often the
daily task runs."""

import contextlib
import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from accounts.services import membership_deactivate
from activity.aggregates import refresh_activity
from activity.models import ActivityDay
from activity.periods import today_utc
from hygiene import selectors, services
from hygiene.models import ReportSettings, UsageReport, UsageReportDelivery
from hygiene.selectors import ReportPeriod, last_full_period
from hygiene.tasks import run_organization_hygiene
from tests.clock import Clock
from tests.conftest import login
from tests.factories import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_recording(settings):
    settings.ORGDASH_ACTIVITY_RECORDING = False  # the tests' own requests are not the activity under test


@pytest.mark.parametrize(
    ("today", "frequency", "start", "end"),
    [
        (dt.date(2026, 11, 30), "weekly", dt.date(2026, 11, 23), dt.date(2026, 11, 29)),  # a Monday
        (dt.date(2026, 11, 29), "weekly", dt.date(2026, 11, 16), dt.date(2026, 11, 22)),  # a Sunday
        (dt.date(2026, 12, 1), "monthly", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        (dt.date(2026, 3, 15), "monthly", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2027, 1, 1), "monthly", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
    ],
)
def test_the_last_full_period(today, frequency, start, end):
    period = last_full_period(frequency=frequency, today=today)
    assert (period.start, period.end) == (start, end)
    previous = period.previous
    assert previous.end == start - dt.timedelta(days=1)
    if frequency == "weekly":
        assert previous.start == start - dt.timedelta(days=7)
    else:
        assert previous.start.day == 1 and previous.start.month != start.month


def active_on(member, *days):
    ActivityDay.objects.bulk_create(
        ActivityDay(
            membership=member,
            day=day,
            kinds=1,
            first_seen=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            last_seen=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
        )
        for day in days
    )


def all_users(client) -> list[dict]:
    response = client.get("/api/v1/users/", {"page_size": 500})
    assert response.json()["next"] is None  # one page holds everyone of the test org
    return response.json()["results"]


def test_report_figures_equal_the_apis_for_the_same_period(in_acme, acme_client, monkeypatch):
    Clock(monkeypatch)  # the report and the API read their periods on one instant
    today = today_utc()
    period = ReportPeriod("weekly", today - dt.timedelta(days=29), today)  # the API's "30d" window
    inside = [today - dt.timedelta(days=n) for n in (0, 3, 29)]
    people = [make_member() for _ in range(4)]
    active_on(people[0], *inside)
    active_on(people[1], inside[1])
    active_on(people[2], today - dt.timedelta(days=30))  # the day before the window: not counted
    gone = make_member()
    Membership.objects.filter(pk=gone.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    membership_deactivate(membership=gone)
    refresh_activity(full=True)
    now = timezone.now()
    figures = selectors.usage_figures(period=period, now=now)

    connection.set_schema_to_public()
    assert login(acme_client, "admin@acme.test").status_code == 302
    summary = acme_client.get("/api/v1/activity/summary/", {"period": "30d"}).json()
    assert (summary["start"], summary["end"]) == (period.start.isoformat(), period.end.isoformat())
    assert figures["active_users"] == summary["total_active_users"]
    counts = acme_client.get("/api/v1/users/counts/").json()
    assert figures["inactive"] == counts["inactive"]
    assert figures["members"] == counts["active"] + counts["inactive"]
    users = all_users(acme_client)
    window = (period.start.isoformat(), (period.end + dt.timedelta(days=1)).isoformat())
    joined = [u for u in users if u["status"] != "invite_pending" and window[0] <= u["added"] < window[1]]
    deactivated = [u for u in users if u["deactivated_at"] and window[0] <= u["deactivated_at"] < window[1]]
    assert figures["joined"] == len(joined) and figures["joined"] >= 4
    assert figures["deactivated"] == len(deactivated) and figures["deactivated"] >= 1
    # The most active people, against the plain reading of the day rows.
    assert figures["top_users"][0] == {
        "id": people[0].pk,
        "name": people[0].name,
        "email": people[0].email,
        "active_days": 3,
    }
    assert people[2].pk not in {person["id"] for person in figures["top_users"]}


def test_active_users_against_the_period_before(in_acme):
    period = last_full_period(frequency="weekly", today=today_utc())
    both, only_before, only_now = make_member(), make_member(), make_member()
    before = period.previous.start + dt.timedelta(days=2)
    active_on(both, period.start, before)
    active_on(only_before, before)
    active_on(only_now, period.end)
    baseline = selectors.usage_figures(period=period, now=timezone.now())
    ActivityDay.objects.filter(membership__in=[both, only_before, only_now]).delete()
    without = selectors.usage_figures(period=period, now=timezone.now())
    assert baseline["active_users"] - without["active_users"] == 2
    assert baseline["previous_active_users"] - without["previous_active_users"] == 2


def weekly_reports_since(moment, recipients=()):
    ReportSettings.objects.update_or_create(
        pk=1, defaults={"frequency": "weekly", "recipients": list(recipients), "scheduled_since": moment}
    )


def test_a_scheduled_report_is_sent_once_per_period_even_when_the_task_runs_twice(
    in_acme, eager_celery, django_capture_on_commit_callbacks
):
    weekly_reports_since(timezone.now() - dt.timedelta(days=30), ["boss@example.test", "cfo@example.test"])
    with django_capture_on_commit_callbacks(execute=True):
        first = run_organization_hygiene()
    with django_capture_on_commit_callbacks(execute=True):
        second = run_organization_hygiene()
    assert "queued" in first and "no report due" in second
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.test", "cfo@example.test"]
    report = UsageReport.objects.get(kind="scheduled")
    period = last_full_period(frequency="weekly", today=today_utc())
    assert (report.period_start, report.period_end) == (period.start, period.end)
    assert all(d.sent_at and d.send_attempts == 1 for d in UsageReportDelivery.objects.filter(report=report))
    # A concurrent second maker loses on the unique index, and says so.
    assert services.usage_report_schedule() is None


def test_switching_reports_on_does_not_mail_periods_that_ended_before(in_acme, eager_celery):
    weekly_reports_since(timezone.now())
    assert services.usage_report_schedule() is None
    assert not UsageReport.objects.exists()


def test_without_listed_recipients_every_active_admin_gets_it(
    in_acme, eager_celery, django_capture_on_commit_callbacks
):
    weekly_reports_since(timezone.now() - dt.timedelta(days=30))
    admins = selectors.active_admin_emails()
    with django_capture_on_commit_callbacks(execute=True):
        services.usage_report_schedule()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(admins) and "admin@acme.test" in admins


def test_the_report_email_has_html_text_and_the_inactive_peoples_csv(
    in_acme, acme_client, eager_celery, django_capture_on_commit_callbacks
):
    quiet = make_member()
    Membership.objects.filter(pk=quiet.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    weekly_reports_since(timezone.now() - dt.timedelta(days=30), ["boss@example.test"])
    with django_capture_on_commit_callbacks(execute=True):
        report = services.usage_report_schedule()
    message = mail.outbox[0]
    figures = report.figures
    assert f"Active users:        {figures['active_users']}" in message.body
    html = message.alternatives[0][0]
    assert f'data-figure="inactive">{figures["inactive"]}<' in html
    name, content, mimetype = message.attachments[0]
    assert mimetype == "text/csv" and name.endswith(f"{report.period_end.isoformat()}.csv")
    rows = list(csv.DictReader(io.StringIO(content if isinstance(content, str) else content.decode())))
    assert quiet.email in {row["email"] for row in rows}
    connection.set_schema_to_public()
    assert login(acme_client, "admin@acme.test").status_code == 302
    export = b"".join(acme_client.get("/api/v1/users/export.csv", {"status": "inactive"}).streaming_content)
    assert (content if isinstance(content, bytes) else content.encode()) == export
    assert len(rows) == figures["inactive"]


def test_a_failing_send_is_recorded_and_retried(in_acme, eager_celery, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.hygiene.failing_mail.EmailBackend"
    weekly_reports_since(timezone.now() - dt.timedelta(days=30), ["boss@example.test"])
    # Eager mode re-raises once the retries are spent.
    with django_capture_on_commit_callbacks(execute=True), contextlib.suppress(ConnectionRefusedError):
        services.usage_report_schedule()
    delivery = UsageReportDelivery.objects.get(email="boss@example.test")
    assert delivery.sent_at is None and delivery.send_attempts == 6
    assert "ConnectionRefusedError" in delivery.last_send_error
