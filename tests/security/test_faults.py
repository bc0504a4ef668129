"""Failing components, for real: a database that drops connections and then refuses them, a Redis
killed under traffic, an e-mail server that refuses mail, a Celery worker killed mid-refresh.

The database and Redis tests run the app under gunicorn (one worker with a long-lived database
connection) against the test database; their data is committed, so they remove what they made.
"""

import contextlib
import datetime as dt
import os
import signal
import smtplib
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Invite, Membership, Role
from accounts.services import api_key_create, membership_add, user_get_or_create
from activity.models import ActivityDay, ActivityKind, Run
from activity.recording import REDIS_RETRY_SECONDS
from orgdash.core.models import Organization, User
from tests.clock import clear_of_midnight
from tests.conftest import PASSWORD, host_of, login
from tests.security.conftest import ARTIFACTS, app_server, database_name, maintenance_connection, wait_until

ACME = host_of("acme")


def _get(port: int, path: str, *, host: str = ACME, **kwargs) -> requests.Response:
    return requests.get(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, **kwargs.pop("headers", {})}, timeout=10, **kwargs
    )


def _terminate_other_backends(conn) -> int:
    """Kills every connection to the test database except the test's own (the app's connections)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> %s AND pid <> pg_backend_pid()",
        [database_name(), own_pid],
    ).fetchall()
    return len(rows)


# --- (a) the database ---------------------------------------------------------------------------


def test_database_outage_answers_503_and_the_app_recovers_by_itself(committed):
    with app_server(log_name="fault-database") as port, maintenance_connection() as maintenance:
        assert _get(port, "/healthz").json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert _get(port, "/accounts/login/").status_code == 200

        # 1. The server's open connection is killed under it (a failover, a restarted pooler).
        assert _terminate_other_backends(maintenance) >= 1
        statuses = [_get(port, "/healthz").status_code for _ in range(3)]
        assert set(statuses) <= {200, 503}
        assert statuses[-1] == 200, statuses
        assert _get(port, "/accounts/login/").status_code == 200

        # 2. The database refuses every new connection for a while.
        name = database_name()
        maintenance.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            _terminate_other_backends(maintenance)
            response = _get(port, "/healthz")
            assert response.status_code == 503
            assert response.json() == {"status": "unavailable", "database": "unavailable", "redis": "ok"}
            # Still refusing: every health check says so, none hangs or crashes the worker.
            assert [_get(port, "/healthz").status_code for _ in range(3)] == [503, 503, 503]
        finally:
            maintenance.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

        # 3. Back without restarting anything.
        wait_until(lambda: _get(port, "/healthz").status_code == 200, timeout=10, what="/healthz to recover")
        assert _get(port, "/healthz").json()["database"] == "ok"
        assert _get(port, "/accounts/login/").status_code == 200


# --- (b) Redis ----------------------------------------------------------------------------------


@pytest.fixture
def acme_org(committed):
    """acme, outside any test transaction (``acme`` would open one)."""
    return Organization.objects.get(slug="acme")


@pytest.fixture
def fault_people(acme_org):
    """An admin and three members of acme, each with an API key; removed afterwards."""
    acme = acme_org
    tag = uuid.uuid4().hex[:8]
    connection.set_tenant(acme)
    people = {}
    for name, role in [("admin", Role.ADMIN), ("a", Role.MEMBER), ("b", Role.MEMBER), ("c", Role.VIEWER)]:
        user, _ = user_get_or_create(email=f"fault-{name}-{tag}@acme.test", password=PASSWORD, name=f"Fault {name}")
        membership = membership_add(user=user, role=role)
        _, secret = api_key_create(membership=membership, label="fault test")
        people[name] = (membership, secret)
    connection.set_schema_to_public()
    yield people
    connection.set_tenant(acme)
    ids = [membership.pk for membership, _ in people.values()]
    user_ids = [membership.user_id for membership, _ in people.values()]
    Run.objects.filter(created_by_id__in=ids).delete()
    AuditEvent.objects.filter(target_membership_id__in=ids).delete()
    AuditEvent.objects.filter(actor_id__in=user_ids).delete()
    Membership.objects.filter(pk__in=ids).delete()  # day rows and keys go with them
    # Still in acme's schema: deleting a user checks the memberships that point at it.
    User.objects.filter(pk__in=user_ids).delete()
    connection.set_schema_to_public()


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _session_login(port: int, email: str) -> requests.Session:
    session = requests.Session()
    session.headers["Host"] = ACME
    page = session.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = session.post(
        f"http://127.0.0.1:{port}/accounts/login/",
        data={"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def test_redis_killed_under_traffic_loses_and_double_counts_nothing(fault_people, private_redis, acme_org):
    acme = acme_org
    admin, secret_admin = fault_people["admin"]
    a, secret_a = fault_people["a"]
    b, secret_b = fault_people["b"]
    c, secret_c = fault_people["c"]
    clear_of_midnight(seconds=120)  # the server records everyone's activity on the day the test checks
    started = timezone.now()
    url = lambda port, path: f"http://127.0.0.1:{port}{path}"  # noqa: E731

    with app_server(extra_env={"REDIS_URL": private_redis.url}, log_name="fault-redis") as port:
        admin_session = _session_login(port, admin.email)
        assert admin_session.get(url(port, "/org/dashboard/"), timeout=10).status_code == 200
        assert _get(port, "/api/v1/api-keys/", headers=_bearer(secret_a)).status_code == 200

        private_redis.kill()
        health = _get(port, "/healthz")
        assert health.status_code == 503 and health.json()["redis"] == "unavailable"
        assert health.json()["database"] == "ok"
        # Pages and the API keep answering while Redis is down.
        for path in ("/org/dashboard/", "/org/dashboard/activity/", "/org/dashboard/audit/"):
            assert admin_session.get(url(port, path), timeout=10).status_code == 200, path
        assert _get(port, "/api/v1/users/", headers=_bearer(secret_admin)).status_code == 200
        assert _get(port, "/api/v1/activity/summary/", headers=_bearer(secret_admin)).status_code == 200
        run = requests.post(
            url(port, "/api/v1/runs/"),
            json={"project": "fault", "name": "during outage"},
            headers={"Host": ACME, **_bearer(secret_a)},
            timeout=10,
        )
        assert run.status_code == 201, run.text
        for _ in range(3):  # b's first activity of the day happens during the outage, repeatedly
            assert _get(port, "/api/v1/api-keys/", headers=_bearer(secret_b)).status_code == 200

        # Redis comes back, empty (no persistence): its de-duplication keys are gone.
        private_redis.start()
        wait_until(lambda: _get(port, "/healthz").status_code == 200, timeout=15, what="redis to be seen again")
        # The recorder goes back to Redis once its retry pause is over: c's first activity of the
        # day is then de-duplicated through the new Redis, and b's repeats are written again
        # (Redis forgot them) without counting a second day.
        time.sleep(REDIS_RETRY_SECONDS + 0.5)
        assert _get(port, "/api/v1/api-keys/", headers=_bearer(secret_c)).status_code == 200
        assert _get(port, "/api/v1/api-keys/", headers=_bearer(secret_b)).status_code == 200
        fresh_redis = redis.Redis.from_url(private_redis.url.rsplit("/", 1)[0] + f"/{_test_redis_db()}")
        assert list(fresh_redis.scan_iter(match=f"act:acme:{c.pk}:*")), "activity did not go through Redis again"
        assert _get(port, "/api/v1/api-keys/", headers=_bearer(secret_a)).status_code == 200

    connection.set_tenant(acme)
    today = timezone.now().astimezone(dt.UTC).date()
    expected_kinds = {
        admin.pk: ActivityKind.LOGIN | ActivityKind.PAGE_VIEW | ActivityKind.API,
        a.pk: ActivityKind.API | ActivityKind.RUN_LOGGED,
        b.pk: ActivityKind.API,
        c.pk: ActivityKind.API,
    }
    for membership_id, kinds in expected_kinds.items():
        rows = list(ActivityDay.objects.filter(membership_id=membership_id))
        assert [row.day for row in rows] == [today], f"member {membership_id}: {rows}"
        assert rows[0].kinds & kinds == kinds, f"member {membership_id}: kinds {rows[0].kinds}, expected {kinds}"
        member = Membership.objects.get(pk=membership_id)
        # Not double counted: one day, however many times Redis forgot and the write was repeated.
        assert member.days_active == 1 == len(rows)
        assert member.last_active is not None and member.last_active >= started - dt.timedelta(seconds=1)
    assert Run.objects.filter(created_by_id=a.pk, name="during outage").count() == 1


def _test_redis_db() -> int:
    return int(settings.REDIS_URL.rsplit("/", 1)[1])


# --- (c) e-mail ---------------------------------------------------------------------------------


class RefusingEmailBackend:
    """An SMTP server that refuses the first ``failures`` messages, then accepts."""

    failures = 0
    attempts = 0
    delivered: list = []

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).attempts <= type(self).failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        type(self).delivered.extend(messages)
        return len(messages)


@pytest.fixture
def refusing_mail(settings, monkeypatch):
    from orgdash.celery import app

    settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"
    monkeypatch.setattr(RefusingEmailBackend, "attempts", 0)
    monkeypatch.setattr(RefusingEmailBackend, "delivered", [])
    # The task and its retries run in this process, without waiting for the backoff.
    saved = {key: app.conf.get(key) for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=False)
    yield RefusingEmailBackend
    app.conf.update(saved)


def _invite(client, email):
    response = client.post("/api/v1/invites/", {"emails": [email], "role": "member"}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["invited"][0]["id"]


@pytest.mark.django_db
def test_mail_server_refusing_keeps_the_invite_pending_and_it_is_retried(
    acme, acme_client, refusing_mail, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(refusing_mail, "failures", 2)
    login(acme_client, "admin@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        invite_id = _invite(acme_client, "refused-then-sent@example.test")

    connection.set_tenant(acme)
    invite = Invite.objects.get(membership_id=invite_id)
    assert refusing_mail.attempts == 3  # two refusals, then the retry that got through
    assert invite.send_attempts == 3
    assert invite.last_send_error == ""
    assert invite.sent_at is not None
    assert [m.to for m in refusing_mail.delivered] == [["refused-then-sent@example.test"]]
    connection.set_schema_to_public()
    user = acme_client.get(f"/api/v1/users/{invite_id}/").json()
    assert user["status"] == "invite_pending"


@pytest.mark.django_db
def test_mail_server_down_for_good_leaves_a_visible_pending_invite(
    acme, acme_client, refusing_mail, django_capture_on_commit_callbacks, monkeypatch
):
    from accounts.models import INVITE_SEND_RETRIES as SEND_RETRIES

    monkeypatch.setattr(refusing_mail, "failures", 1_000)
    login(acme_client, "admin@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        invite_id = _invite(acme_client, "never-delivered@example.test")

    connection.set_tenant(acme)
    invite = Invite.objects.get(membership_id=invite_id)
    assert refusing_mail.attempts == SEND_RETRIES + 1  # the first try and every retry
    assert invite.send_attempts == SEND_RETRIES + 1
    assert "SMTPServerDisconnected" in invite.last_send_error
    assert invite.sent_at is None
    assert Membership.objects.get(pk=invite_id).state == Membership.State.INVITED
    connection.set_schema_to_public()
    # The admin still sees the invite as pending and can resend it (a new link, a new try).
    listed = acme_client.get("/api/v1/users/", {"status": "invite_pending", "search": "never-delivered"}).json()
    assert [row["email"] for row in listed["results"]] == ["never-delivered@example.test"]
    # Support staff see the failure itself in Django admin.
    staff = type(acme_client)(HTTP_HOST=ACME)
    login(staff, "support@orgdash.test")
    page = staff.get("/admin/accounts/invite/").content.decode()
    assert "never-delivered@example.test" in page and "SMTPServerDisconnected" in page
    monkeypatch.setattr(refusing_mail, "failures", 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert acme_client.post(f"/api/v1/invites/{invite_id}/resend/").status_code == 200
    connection.set_tenant(acme)
    invite = Invite.objects.get(membership_id=invite_id)
    assert invite.sent_at is not None and invite.last_send_error == ""


def test_the_fault_tests_clean_up(acme_org):
    """Nothing the fault tests committed is left behind for the rest of the suite."""
    connection.set_tenant(acme_org)
    assert not Membership.objects.filter(email__startswith="fault-").exists()
    assert not ApiKey.objects.filter(label="fault test").exists()
    connection.set_schema_to_public()
    assert not User.objects.filter(email__startswith="fault-").exists()
    assert Organization.objects.filter(slug="acme").exists()


# --- (d) a Celery worker killed in the middle of a refresh --------------------------------------

FAULT_ORG = "faultagg"
SEEDED_MEMBERS = 400
SEEDED_DAYS = 400


@pytest.fixture
def fault_org(committed):
    """An org of its own (so no other test's figures move), with a year of seeded activity."""
    from orgdash.core.services import organization_create

    organization = organization_create(slug=FAULT_ORG, name="Fault Aggregates")
    connection.set_tenant(organization)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO accounts_membership (email, role, state, created_at, days_active)
               SELECT 'seeded' || n || '@fault.test', 'member', 'invited', now(), 0
               FROM generate_series(1, %s) AS n""",
            [SEEDED_MEMBERS],
        )
        _seed_days(cursor, first_day_ago=SEEDED_DAYS, last_day_ago=30, share=0.25)
    connection.set_schema_to_public()
    yield organization
    connection.set_schema_to_public()
    organization.delete(force_drop=True)


def _seed_days(cursor, *, first_day_ago: int, last_day_ago: int, share: float) -> None:
    """Day rows for a random share of (member, day) pairs, and those days marked for the refresh."""
    cursor.execute(
        """INSERT INTO activity_activityday (membership_id, day, kinds, first_seen, last_seen)
           SELECT m.id, d::date, 2, d + interval '9 hours', d + interval '17 hours'
           FROM accounts_membership AS m,
                generate_series(current_date - %s, current_date - %s, interval '1 day') AS d
           WHERE random() < %s
           ON CONFLICT (membership_id, day) DO NOTHING""",
        [first_day_ago, last_day_ago, share],
    )
    cursor.execute(
        """INSERT INTO activity_activitydirtyday (day)
           SELECT DISTINCT day FROM activity_activityday WHERE day BETWEEN current_date - %s AND current_date - %s
           ON CONFLICT (day) DO NOTHING""",
        [first_day_ago, last_day_ago],
    )


@contextlib.contextmanager
def celery_worker(name: str):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgdash.settings.test",
        "DJANGO_DATABASE_NAME": database_name(),
        "PYTHONUNBUFFERED": "1",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"{name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "orgdash",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: "ready" in (ARTIFACTS / f"{name}.log").read_text(), timeout=30, what=f"worker {name}")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def _queue_refresh(organization) -> None:
    from django_tenants.utils import tenant_context

    from activity.tasks import refresh_organization_activity

    with tenant_context(organization):
        refresh_organization_activity.apply_async()


def _figures(organization) -> dict:
    from activity.periods import PERIODS
    from activity.selectors import activity_summary, activity_timeseries

    connection.set_tenant(organization)
    try:
        return {
            period: (activity_summary(period=period).as_summary(), activity_timeseries(period=period).series)
            for period in PERIODS
        }
    finally:
        connection.set_schema_to_public()


def _brute_force(organization, window_of: dict) -> dict:
    """The same figures counted straight from the day rows, one period at a time."""
    connection.set_tenant(organization)
    expected = {}
    try:
        with connection.cursor() as cursor:
            for period, (start, end) in window_of.items():
                cursor.execute(
                    """SELECT d::date,
                              (SELECT count(*) FROM activity_activityday a WHERE a.day = d::date),
                              (SELECT count(DISTINCT a.membership_id) FROM activity_activityday a
                               WHERE a.day BETWEEN %s AND d::date)
                       FROM generate_series(%s::date, %s::date, interval '1 day') AS d ORDER BY d""",
                    [start, start, end],
                )
                rows = cursor.fetchall()
                expected[period] = {
                    "total": rows[-1][2],
                    "daily": [daily for _, daily, _ in rows],
                    "cumulative": [cumulative for _, _, cumulative in rows],
                }
    finally:
        connection.set_schema_to_public()
    return expected


def _assert_exact(organization) -> None:
    figures = _figures(organization)
    windows = {period: (summary["start"], summary["end"]) for period, (summary, _) in figures.items()}
    expected = _brute_force(organization, windows)
    for period, (summary, daily_series) in figures.items():
        assert summary["total_active_users"] == expected[period]["total"], period
        assert [point["active_users"] for point in summary["series"]] == expected[period]["cumulative"], period
        assert [point["active_users"] for point in daily_series] == expected[period]["daily"], period


def _worker_blocked_in_refresh(maintenance) -> bool:
    row = maintenance.execute(
        """SELECT count(*) FROM pg_stat_activity
           WHERE datname = %s AND wait_event_type = 'Lock' AND query ILIKE %s""",
        [database_name(), "%activity_dayfigures%"],
    ).fetchone()
    return row[0] > 0


def test_worker_killed_mid_refresh_then_the_next_refresh_is_exact(fault_org):
    from activity.models import AggregateState

    # A first refresh (worker 1) computes the seeded year.
    with celery_worker("fault-worker-1"):
        _queue_refresh(fault_org)
        wait_until(lambda: _state(fault_org) is not None, timeout=60, what="the first refresh")
    _assert_exact(fault_org)
    before = _figures(fault_org)

    # Last month's activity arrives; the refresh that would count it is killed half-way.
    connection.set_tenant(fault_org)
    with connection.cursor() as cursor:
        _seed_days(cursor, first_day_ago=29, last_day_ago=0, share=0.4)
    connection.set_schema_to_public()
    params = connection.get_connection_params()
    params = {
        key: value for key, value in params.items() if key not in ("cursor_factory", "context", "prepare_threshold")
    }
    with psycopg.connect(**params) as blocker, maintenance_connection() as maintenance:
        # The refresh takes its lock and consumes the dirty days, then waits on this table lock.
        blocker.execute(f'LOCK TABLE "{fault_org.schema_name}".activity_dayfigures IN ACCESS EXCLUSIVE MODE')
        with celery_worker("fault-worker-2") as worker:
            _queue_refresh(fault_org)
            wait_until(lambda: _worker_blocked_in_refresh(maintenance), timeout=30, what="the refresh to block")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        blocker.rollback()  # the orphaned refresh now finds its client gone and rolls back
        wait_until(
            lambda: (
                not maintenance.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = %s)",
                    [database_name()],
                ).fetchone()[0]
            ),
            timeout=30,
            what="the killed refresh's transaction to end",
        )
    # Nothing half-done: the previous figures stand, and last month's days are still marked.
    assert _figures(fault_org) == before
    connection.set_tenant(fault_org)
    assert AggregateState.objects.get(pk=1).computed_at == before["30d"][0]["computed_at"]
    connection.set_schema_to_public()

    # The next refresh (a new worker) gives the exact figures.
    with celery_worker("fault-worker-3"):
        _queue_refresh(fault_org)
        wait_until(lambda: _state(fault_org) != before["30d"][0]["computed_at"], timeout=60, what="the next refresh")
    after = _figures(fault_org)
    assert after != before
    _assert_exact(fault_org)


@pytest.fixture(autouse=True)
def _forget_the_killed_task(request):
    """The killed worker's task stays "unacked" in the broker until its visibility timeout; drop
    it so no later worker of this test run picks it up."""
    yield
    if "fault_org" not in request.fixturenames:
        return
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag, payload in broker.hgetall("unacked").items():
        if FAULT_ORG.encode() in payload:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)


def _state(organization):
    from activity.models import AggregateState

    connection.set_tenant(organization)
    try:
        state = AggregateState.objects.filter(pk=1).first()
        return state.computed_at if state else None
    finally:
        connection.set_schema_to_public()
