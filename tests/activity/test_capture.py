"""Activity capture: every source records the right kind, on the right (UTC) day, for the right
member of the right org; Redis keeps the writes down to one per kind per day plus throttled
last-active updates; without Redis, requests still succeed and activity is still recorded."""

import datetime as dt
import logging
import socket

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from accounts.services import api_key_create
from activity import recording
from activity.models import ActivityDay, ActivityDirtyDay, ActivityKind, Run
from activity.recording import recorder
from tests.clock import yesterday_noon
from tests.conftest import host_of, login
from tests.factories import make_member, make_user

LOGIN = ActivityKind.LOGIN
PAGE_VIEW = ActivityKind.PAGE_VIEW
RUN_LOGGED = ActivityKind.RUN_LOGGED
SDK = ActivityKind.SDK
API = ActivityKind.API


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def activity_of(org, email: str) -> dict[dt.date, int]:
    """{day: kinds} of ``email``'s membership in ``org``; leaves the connection in public."""
    connection.set_tenant(org)
    try:
        return dict(
            ActivityDay.objects.filter(membership__email__iexact=email).values_list("day", "kinds").order_by("day")
        )
    finally:
        connection.set_schema_to_public()


def figures_of(org, email: str) -> tuple[dt.datetime | None, int]:
    connection.set_tenant(org)
    try:
        membership = Membership.objects.get(email__iexact=email)
        return membership.last_active, membership.days_active
    finally:
        connection.set_schema_to_public()


def key_of(org, email: str | None) -> str:
    """A new API key of ``email`` in ``org`` (a service key for None)."""
    connection.set_tenant(org)
    try:
        membership = Membership.objects.get(email__iexact=email) if email else None
        _, secret = api_key_create(membership=membership)
        return secret
    finally:
        connection.set_schema_to_public()


def bearer(secret: str, **headers) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}", **headers}


def activity_writes(queries) -> list[str]:
    """The statements that wrote day rows or activity figures."""
    return [q["sql"] for q in queries if "activity_activityday" in q["sql"] and "INSERT" in q["sql"].upper()]


def _user(email):
    return get_user_model().objects.get(email=email)


def signed_in(client, org, email: str):
    """``client`` with a session of ``email`` in ``org``, made without recording a login."""
    with override_settings(ORGDASH_ACTIVITY_RECORDING=False):
        connection.set_tenant(org)  # the session is bound to the org it is created in
        try:
            client.force_login(_user(email))
        finally:
            connection.set_schema_to_public()
    return client


# --- each source, its kind, its member, its org ---------------------------------------------


def test_logging_in_records_login_and_the_page_view_for_that_member(acme, acme_client):
    before = timezone.now()
    assert login(acme_client, "member@acme.test").status_code == 302
    assert activity_of(acme, "member@acme.test") == {today(): LOGIN | PAGE_VIEW}
    last_active, days_active = figures_of(acme, "member@acme.test")
    assert days_active == 1
    assert before <= last_active <= timezone.now()
    # Nobody else in the org was touched.
    assert activity_of(acme, "viewer@acme.test") == {}
    assert activity_of(acme, "admin@acme.test") == {}


def test_a_failed_login_records_nothing(acme, acme_client):
    assert login(acme_client, "member@acme.test", "wrong-password").status_code == 200
    assert activity_of(acme, "member@acme.test") == {}


def test_viewing_a_page_records_a_page_view(acme, acme_client):
    signed_in(acme_client, acme, "viewer@acme.test")
    assert acme_client.get("/org/dashboard/").status_code == 403  # viewers may not see it; still a view
    assert activity_of(acme, "viewer@acme.test") == {today(): PAGE_VIEW}


def test_an_api_call_with_a_personal_key_records_api(acme, acme_client):
    secret = key_of(acme, "admin@acme.test")
    assert acme_client.get("/api/v1/users/", **bearer(secret)).status_code == 200
    assert activity_of(acme, "admin@acme.test") == {today(): API}


def test_an_api_call_in_a_browser_session_records_api(acme, acme_client):
    signed_in(acme_client, acme, "admin@acme.test")
    assert acme_client.get("/api/v1/users/").status_code == 200
    assert activity_of(acme, "admin@acme.test") == {today(): API}


def test_logging_a_run_records_run_logged_and_stores_the_run(acme, acme_client):
    secret = key_of(acme, "viewer@acme.test")
    response = acme_client.post(
        "/api/v1/runs/",
        {"project": "vision", "name": "resnet-50 sweep"},
        content_type="application/json",
        **bearer(secret),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["project"] == "vision" and body["name"] == "resnet-50 sweep"
    assert body["created_by"] == "viewer@acme.test"
    assert body["client"] == "api"
    assert activity_of(acme, "viewer@acme.test") == {today(): RUN_LOGGED | API}
    connection.set_tenant(acme)
    assert Run.objects.get(pk=body["id"]).created_by.email == "viewer@acme.test"


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_USER_AGENT": "orgdash-sdk/1.4.2 (python 3.11)"}, {"HTTP_X_ORGDASH_CLIENT": "sdk"}],
    ids=["user-agent", "client-header"],
)
def test_a_run_from_the_sdk_records_sdk(acme, acme_client, headers):
    secret = key_of(acme, "member@acme.test")
    response = acme_client.post(
        "/api/v1/runs/",
        {"project": "nlp", "name": "bert"},
        content_type="application/json",
        **bearer(secret, **headers),
    )
    assert response.status_code == 201
    assert response.json()["client"] == "sdk"
    assert activity_of(acme, "member@acme.test") == {today(): SDK}


def test_a_run_needs_a_project_and_a_name(acme, acme_client):
    secret = key_of(acme, "member@acme.test")
    response = acme_client.post("/api/v1/runs/", {"project": " "}, content_type="application/json", **bearer(secret))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"project", "name"}
    # The call itself was activity, but no run was logged.
    assert activity_of(acme, "member@acme.test") == {today(): API}


def test_support_staff_and_service_keys_cannot_log_runs_and_are_not_members(acme, acme_client):
    service = key_of(acme, None)
    response = acme_client.post(
        "/api/v1/runs/", {"project": "p", "name": "n"}, content_type="application/json", **bearer(service)
    )
    assert response.status_code == 403
    staff_client = type(acme_client)(HTTP_HOST=host_of("acme"))
    assert login(staff_client, "support@orgdash.test").status_code == 302
    assert staff_client.get("/org/dashboard/").status_code == 200
    connection.set_tenant(acme)
    assert ActivityDay.objects.count() == 0
    assert not Run.objects.exists()


def test_requests_that_are_not_a_persons_activity_record_nothing(acme, acme_client):
    signed_in(acme_client, acme, "admin@acme.test")
    assert acme_client.get("/static/orgdash/app.css").status_code == 200
    assert acme_client.get("/healthz").status_code == 200
    acme_client.get("/favicon.ico")
    # The dashboard's own polling says so in a header.
    assert acme_client.get("/api/v1/users/", HTTP_X_ORGDASH_BACKGROUND="1").status_code == 200
    assert activity_of(acme, "admin@acme.test") == {}
    # Anonymous visitors are nobody's activity.
    type(acme_client)(HTTP_HOST=host_of("acme")).get("/accounts/login/")
    connection.set_tenant(acme)
    assert ActivityDay.objects.count() == 0


def test_deactivated_members_record_nothing(acme, acme_client):
    connection.set_tenant(acme)
    member = make_member()
    secret = api_key_create(membership=member)[1]
    Membership.objects.filter(pk=member.pk).update(state=Membership.State.DEACTIVATED)
    connection.set_schema_to_public()
    assert acme_client.get("/api/v1/users/", **bearer(secret)).status_code == 401
    assert activity_of(acme, member.email) == {}


def test_recording_can_be_switched_off(acme, acme_client, settings):
    settings.ORGDASH_ACTIVITY_RECORDING = False
    assert login(acme_client, "member@acme.test").status_code == 302
    acme_client.get("/org/dashboard/")
    assert activity_of(acme, "member@acme.test") == {}


def test_the_day_is_the_utc_day_of_the_activity(acme):
    connection.set_tenant(acme)
    member = make_member()
    # 00:30 in Berlin on March 2nd is still March 1st in UTC.
    late = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert recorder.record(schema="acme", membership_id=member.pk, kinds=PAGE_VIEW, at=late)
    early = dt.datetime(2026, 3, 2, 0, 0, 1, tzinfo=dt.UTC)
    assert recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=early)
    rows = dict(ActivityDay.objects.filter(membership=member).values_list("day", "kinds"))
    assert rows == {dt.date(2026, 3, 1): PAGE_VIEW, dt.date(2026, 3, 2): API}
    member.refresh_from_db()
    assert member.days_active == 2
    assert member.last_active == early
    # Both days were marked for the aggregate refresh when their rows appeared.
    assert set(ActivityDirtyDay.objects.values_list("day", flat=True)) >= {dt.date(2026, 3, 1), dt.date(2026, 3, 2)}


def test_a_user_active_in_two_orgs_is_counted_in_each_separately(acme, globex, acme_client, globex_client):
    user = make_user()
    connection.set_tenant(acme)
    make_member(user=user)
    connection.set_tenant(globex)
    make_member(user=user)
    connection.set_schema_to_public()

    assert login(acme_client, user.email).status_code == 302
    assert activity_of(acme, user.email) == {today(): LOGIN | PAGE_VIEW}
    assert activity_of(globex, user.email) == {}

    signed_in(globex_client, globex, user.email)
    globex_client.get("/org/dashboard/")
    assert activity_of(globex, user.email) == {today(): PAGE_VIEW}
    assert activity_of(acme, user.email) == {today(): LOGIN | PAGE_VIEW}
    assert figures_of(acme, user.email)[1] == 1
    assert figures_of(globex, user.email)[1] == 1


# --- the hot path: bounded writes -----------------------------------------------------------


def test_repeated_requests_write_once_per_kind_per_day(acme, acme_client):
    signed_in(acme_client, acme, "admin@acme.test")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(25):
            assert acme_client.get("/api/v1/users/?page_size=1").status_code == 200
    assert len(activity_writes(queries.captured_queries)) == 1

    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            acme_client.get("/org/dashboard/")
            acme_client.get("/api/v1/users/?page_size=1")
    # A new kind of activity (the page views) is one more write; the API calls none.
    assert len(activity_writes(queries.captured_queries)) == 1
    assert activity_of(acme, "admin@acme.test") == {today(): API | PAGE_VIEW}
    assert figures_of(acme, "admin@acme.test")[1] == 1


def test_last_active_moves_at_most_once_per_interval(acme, monkeypatch):
    monkeypatch.setattr(recording, "LAST_ACTIVE_INTERVAL", 1)
    connection.set_tenant(acme)
    member = make_member()
    start = yesterday_noon()  # four seconds later is the same day
    writes = [recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=start)]
    for _ in range(3):
        writes.append(recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=start))
        member.refresh_from_db()
        assert member.last_active == start  # throttled: later sightings within the interval wait
    # Once the Redis key has expired (for real), the next sighting moves last_active.
    import time

    time.sleep(1.2)
    later = start + dt.timedelta(seconds=4)
    writes.append(recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=later))
    member.refresh_from_db()
    assert writes == [True, False, False, False, True]
    assert member.last_active == later
    assert member.days_active == 1


def test_a_late_sighting_never_moves_last_active_back(acme):
    connection.set_tenant(acme)
    member = make_member()
    now = yesterday_noon()  # an hour earlier is the same day
    recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=now)
    recorder.forget(redis_keys=True)
    recorder.record(schema="acme", membership_id=member.pk, kinds=PAGE_VIEW, at=now - dt.timedelta(hours=1))
    member.refresh_from_db()
    assert member.last_active == now
    row = ActivityDay.objects.get(membership=member)
    assert row.kinds == API | PAGE_VIEW
    assert row.first_seen == now - dt.timedelta(hours=1) and row.last_seen == now
    assert member.days_active == 1


# --- Redis unreachable ----------------------------------------------------------------------


@pytest.fixture
def redis_unreachable(settings):
    """Points the recorder at a local port nothing listens on: real connection failures."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reachable = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield reachable


def test_without_redis_requests_succeed_and_activity_is_still_recorded(
    acme, acme_client, redis_unreachable, caplog, settings, monkeypatch
):
    caplog.set_level(logging.WARNING, logger="activity.recording")
    monkeypatch.setattr(recording, "REDIS_RETRY_SECONDS", 0)  # every request tries Redis again
    assert login(acme_client, "member@acme.test").status_code == 302
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert acme_client.get("/org/dashboard/").status_code == 403
            acme_client.get("/accounts/login/")
    assert activity_of(acme, "member@acme.test") == {today(): LOGIN | PAGE_VIEW}
    assert figures_of(acme, "member@acme.test")[1] == 1
    # Still bounded: this process remembers what it wrote.
    assert len(activity_writes(queries.captured_queries)) == 0
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1, "the outage is logged once, not per request"

    # Redis comes back: the recorder notices on its next attempt, says so, and uses it again.
    settings.REDIS_URL = redis_unreachable
    connection.set_tenant(acme)
    other = make_member()
    connection.set_schema_to_public()
    assert recorder.record(schema="acme", membership_id=other.pk, kinds=API)
    assert [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert not recorder.record(schema="acme", membership_id=other.pk, kinds=API)
    assert activity_of(acme, other.email) == {today(): API}


def test_without_redis_a_new_process_records_again_idempotently(acme, redis_unreachable):
    connection.set_tenant(acme)
    member = make_member()
    at = timezone.now()
    assert recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=at)
    recorder.forget()  # another worker process: no memory of the first write
    assert recorder.record(schema="acme", membership_id=member.pk, kinds=API, at=at)
    member.refresh_from_db()
    assert member.days_active == 1
    assert ActivityDay.objects.filter(membership=member).count() == 1


def test_a_failing_database_write_does_not_fail_the_request_and_is_retried(acme, acme_client, monkeypatch, caplog):
    from django.db import DatabaseError

    from activity import recording as module

    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        raise DatabaseError("disk full")

    monkeypatch.setattr(module, "activity_record_write", broken)
    signed_in(acme_client, acme, "admin@acme.test")
    assert acme_client.get("/api/v1/users/").status_code == 200
    monkeypatch.undo()
    # The claim in Redis was released, so the next request writes the row.
    assert acme_client.get("/api/v1/users/").status_code == 200
    assert len(calls) == 1
    assert activity_of(acme, "admin@acme.test") == {today(): API}
