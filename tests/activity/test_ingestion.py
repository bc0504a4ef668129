"""POST /api/v1/activity/events/: batch ingestion of activity reported by other services."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, Role
from accounts.services import api_key_create
from activity import services, tasks
from activity.models import ActivityDay, ActivityDirtyDay, ActivityDirtyMembers, ActivityKind
from activity.services import activity_record_write, membership_stats_catch_up
from orgdash.celery import app as celery_app
from tests.clock import Clock, yesterday_noon
from tests.conftest import login
from tests.factories import make_member, make_pending_invite, make_user

EVENTS = "/api/v1/activity/events/"


def key_of(org, email: str | None) -> str:
    connection.set_tenant(org)
    try:
        membership = Membership.objects.get(email__iexact=email) if email else None
        return api_key_create(membership=membership)[1]
    finally:
        connection.set_schema_to_public()


def post(client, events, secret: str | None = None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    body = events if isinstance(events, str) else json.dumps({"events": events})
    return client.post(EVENTS, body, content_type="application/json", **headers, **extra)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def service_key(acme):
    return key_of(acme, None)


@pytest.fixture
def people(acme):
    """Two members of acme (one addressed by username) and their state before ingestion."""
    connection.set_tenant(acme)
    alice = make_member()
    bob = make_member()
    connection.set_schema_to_public()
    return alice, bob


def rows_of(org, membership) -> dict[dt.date, tuple[int, dt.datetime, dt.datetime]]:
    connection.set_tenant(org)
    try:
        return {
            row.day: (row.kinds, row.first_seen, row.last_seen)
            for row in ActivityDay.objects.filter(membership=membership)
        }
    finally:
        connection.set_schema_to_public()


def refreshed(org, membership) -> Membership:
    connection.set_tenant(org)
    try:
        return Membership.objects.get(pk=membership.pk)
    finally:
        connection.set_schema_to_public()


def caught_up(org):
    """Runs the members' catch-up of ``org`` (what the task queued after an ingestion does)."""
    with schema_context(org.schema_name):
        return membership_stats_catch_up()


def figures(org, membership) -> tuple[int, dt.datetime | None]:
    member = refreshed(org, membership)
    return member.days_active, member.last_active


def exact_figures(org, membership) -> tuple[int, dt.datetime | None]:
    """What the figures must be: the member's day rows counted, and their latest time."""
    rows = rows_of(org, membership)
    return len(rows), max((last for _, _, last in rows.values()), default=None)


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline (the app reads its config once, so the settings fixture would not reach it)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def no_catch_up_queued(acme, globex):
    """Forgets the 'catch-up queued' keys, which live in Redis beyond a test's rollback."""
    for org in (acme, globex):
        with schema_context(org.schema_name):
            cache.delete(services.CATCH_UP_CACHE_KEY)
    yield
    for org in (acme, globex):
        with schema_context(org.schema_name):
            cache.delete(services.CATCH_UP_CACHE_KEY)


def test_each_event_is_judged_on_its_own_and_the_good_ones_are_written(
    acme, acme_client, service_key, people, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    alice, bob = people
    # The service's "now" is pinned at noon, so "a few minutes/hours from now" stays on its day.
    now = Clock(monkeypatch, at=yesterday_noon()).now
    yesterday = now - dt.timedelta(days=1)
    connection.set_tenant(acme)
    invitee = make_pending_invite()
    connection.set_schema_to_public()
    events = [
        {"user": alice.email.upper(), "kind": "login", "timestamp": iso(yesterday)},  # 0: e-mail, any case
        {"user": bob.username, "kind": "sdk", "timestamp": iso(now - dt.timedelta(hours=1))},  # 1: username
        {"user": "nobody@acme.test", "kind": "api", "timestamp": iso(now)},  # 2
        {"user": alice.email, "kind": "dancing", "timestamp": iso(now)},  # 3
        {"user": alice.email, "kind": "api", "timestamp": "yesterday-ish"},  # 4
        {"user": alice.email, "kind": "api", "timestamp": iso(now + dt.timedelta(hours=2))},  # 5: future
        {"user": alice.email, "kind": "api", "timestamp": "1999-12-31T23:59:59Z"},  # 6: too old
        "not an event",  # 7
        {"kind": "api", "timestamp": iso(now)},  # 8: no user
        {"user": invitee.email, "kind": "api", "timestamp": iso(now)},  # 9: has not joined
        {"user": alice.email, "kind": "page_view", "timestamp": iso(yesterday + dt.timedelta(minutes=5))},  # 10
        {"user": alice.email, "kind": "run_logged", "timestamp": iso(now + dt.timedelta(minutes=2))},  # 11: skew
        {"user": alice.email, "kind": "api", "timestamp": iso(now)[:-1] + "\u0000Z"},  # 12: a NUL in it
        {"user": alice.email, "kind": "api", "timestamp": 1732900000},  # 13: a number
    ]
    # Committing runs the members' catch-up (inline here; queued to Celery in production).
    with django_capture_on_commit_callbacks(execute=True):
        response = post(acme_client, events, service_key)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 4
    rejected = {item["index"]: item["reason"] for item in body["rejected"]}
    assert sorted(rejected) == [2, 3, 4, 5, 6, 7, 8, 9, 12, 13]
    assert "nobody@acme.test" in rejected[2]
    assert "dancing" in rejected[3] and "page_view" in rejected[3]
    assert "ISO 8601" in rejected[4]
    assert "future" in rejected[5]
    assert "2000" in rejected[6]
    assert "user" in rejected[8]
    assert "is not an ISO 8601 date and time" in rejected[12]
    assert rejected[13] == "timestamp must be an ISO 8601 date and time in a string, not a number"

    alice_rows = rows_of(acme, alice)
    assert alice_rows[yesterday.date()] == (
        ActivityKind.LOGIN | ActivityKind.PAGE_VIEW,
        yesterday,
        yesterday + dt.timedelta(minutes=5),
    )
    assert alice_rows[now.date()][0] == ActivityKind.RUN_LOGGED
    assert rows_of(acme, bob) == {
        (now - dt.timedelta(hours=1)).date(): (
            ActivityKind.SDK,
            now - dt.timedelta(hours=1),
            now - dt.timedelta(hours=1),
        )
    }
    alice_now = refreshed(acme, alice)
    assert alice_now.days_active == len(alice_rows)
    assert alice_now.last_active == now + dt.timedelta(minutes=2)


def test_a_timestamp_at_the_edge_of_the_calendar_rejects_only_its_event(acme, acme_client, service_key, people):
    alice, _ = people
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    events = [
        {"user": alice.email, "kind": "api", "timestamp": "9999-12-31T23:59:59-05:00"},  # past year 9999 in UTC
        {"user": alice.email, "kind": "api", "timestamp": iso(moment)},
        {"user": alice.email, "kind": "api", "timestamp": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"user": alice.email, "kind": "api", "timestamp": "9999-12-31T23:59:59.999999"},
    ]
    response = post(acme_client, events, service_key)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    rejected = {item["index"]: item["reason"] for item in body["rejected"]}
    assert rejected == {
        0: "timestamp is in the future",
        2: "timestamp is before 2000-01-01",
        3: "timestamp is in the future",
    }
    assert rows_of(acme, alice)[moment.date()][0] == ActivityKind.API


def test_a_username_is_matched_in_any_case_like_an_email(acme, acme_client, service_key):
    connection.set_tenant(acme)
    users = [make_user(email=f"{name}@case.test") for name in ("adam", "eve", "eve-twin")]
    # Two usernames differing only in case (older data; profiles refuse such a change now).
    for user, username in zip(users, ("adam.perez.1.x", "Eve", "eve"), strict=True):
        user.username = username
        user.save(update_fields=["username"])
    adam, eve, eve_twin = (make_member(user=user) for user in users)
    connection.set_schema_to_public()
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)

    def days_of(*names) -> dict:
        events = [{"user": name, "kind": "api", "timestamp": iso(moment)} for name in names]
        body = post(acme_client, events, service_key).json()
        assert body["accepted"] == len(names), body
        return {person: set(rows_of(acme, person)) for person in (adam, eve, eve_twin)}

    assert days_of("ADAM.PEREZ.1.X", "Adam.Perez.1.x") == {adam: {moment.date()}, eve: set(), eve_twin: set()}
    # The username written as sent wins; in another case, the older account.
    assert days_of("eve")[eve] == set()
    assert days_of("EVE")[eve] == {moment.date()}
    body = post(acme_client, [{"user": "adam.perez.1.y", "kind": "api", "timestamp": iso(moment)}], service_key).json()
    assert body["rejected"] == [{"index": 0, "reason": "no member of this organization is called 'adam.perez.1.y'"}]


def test_sending_the_same_batch_twice_changes_nothing(acme, acme_client, service_key, people):
    alice, bob = people
    now = yesterday_noon()  # an hour or two before it is still its day
    events = [
        {"user": person.email, "kind": kind, "timestamp": iso(now - dt.timedelta(days=days, hours=hours))}
        for person in (alice, bob)
        for days in (0, 3, 40)
        for hours, kind in ((1, "api"), (2, "sdk"))
    ]
    assert post(acme_client, events, service_key).json() == {"accepted": 12, "rejected": []}
    assert caught_up(acme).updated == 2
    first = (rows_of(acme, alice), rows_of(acme, bob), refreshed(acme, alice), refreshed(acme, bob))
    connection.set_tenant(acme)
    ActivityDirtyDay.objects.all().delete()
    connection.set_schema_to_public()

    assert post(acme_client, events, service_key).json() == {"accepted": 12, "rejected": []}
    recount = caught_up(acme)
    assert (recount.members, recount.updated) == (2, 0)  # both recounted, neither changed
    second = (rows_of(acme, alice), rows_of(acme, bob), refreshed(acme, alice), refreshed(acme, bob))
    assert first[:2] == second[:2]
    for before, after in zip(first[2:], second[2:], strict=True):
        assert (before.days_active, before.last_active) == (after.days_active, after.last_active)
    assert second[2].days_active == 3
    # Nothing changed, so no day needs its aggregates refreshed.
    connection.set_tenant(acme)
    assert not ActivityDirtyDay.objects.exists()


def test_backfill_counts_new_days_marks_them_and_never_moves_last_active_back(acme, acme_client, service_key, people):
    alice, _ = people
    now = yesterday_noon()  # a minute before it is still its day
    post(acme_client, [{"user": alice.email, "kind": "api", "timestamp": iso(now)}], service_key)
    caught_up(acme)
    connection.set_tenant(acme)
    ActivityDirtyDay.objects.all().delete()
    connection.set_schema_to_public()

    old = [now - dt.timedelta(days=days) for days in (30, 31, 400)]
    events = [{"user": alice.email, "kind": "page_view", "timestamp": iso(moment)} for moment in old]
    events.append({"user": alice.email, "kind": "page_view", "timestamp": iso(now - dt.timedelta(minutes=1))})
    assert post(acme_client, events, service_key).json()["accepted"] == 4
    caught_up(acme)

    after = refreshed(acme, alice)
    assert after.last_active == now  # the backfill is older than what was already known
    assert after.days_active == 4
    connection.set_tenant(acme)
    assert set(ActivityDirtyDay.objects.values_list("day", flat=True)) == {moment.date() for moment in old}
    assert ActivityDay.objects.get(membership=alice, day=now.date()).kinds == ActivityKind.API | ActivityKind.PAGE_VIEW


def test_a_deactivated_member_keeps_past_activity_but_nothing_after_deactivation(acme, acme_client, service_key):
    connection.set_tenant(acme)
    gone_at = timezone.now().replace(microsecond=0) - dt.timedelta(days=10)
    member = make_member(state=Membership.State.DEACTIVATED, deactivated_at=gone_at)
    connection.set_schema_to_public()
    events = [
        {"user": member.email, "kind": "api", "timestamp": iso(gone_at - dt.timedelta(days=1))},
        {"user": member.email, "kind": "api", "timestamp": iso(gone_at + dt.timedelta(days=1))},
    ]
    body = post(acme_client, events, service_key).json()
    assert body["accepted"] == 1
    assert body["rejected"] == [{"index": 1, "reason": "the user was deactivated at that time"}]
    caught_up(acme)
    assert refreshed(acme, member).days_active == 1


def test_figures_follow_in_the_catch_up_not_in_the_request(acme, acme_client, service_key, people):
    alice, bob = people
    now = timezone.now().replace(microsecond=0)
    events = [
        {"user": alice.email, "kind": "api", "timestamp": iso(now - dt.timedelta(days=2))},
        {"user": bob.email, "kind": "sdk", "timestamp": iso(now - dt.timedelta(hours=3))},
    ]
    assert post(acme_client, events, service_key).json()["accepted"] == 2
    # The request wrote the day rows and marked both members, and left the figures alone.
    assert len(rows_of(acme, alice)) == len(rows_of(acme, bob)) == 1
    assert figures(acme, alice) == figures(acme, bob) == (0, None)
    with schema_context(acme.schema_name):
        marked = [sorted(batch.membership_ids) for batch in ActivityDirtyMembers.objects.all()]
    assert marked == [sorted([alice.pk, bob.pk])]

    result = caught_up(acme)
    assert (result.members, result.updated) == (2, 2)
    assert figures(acme, alice) == (1, now - dt.timedelta(days=2))
    assert figures(acme, bob) == (1, now - dt.timedelta(hours=3))
    with schema_context(acme.schema_name):
        assert not ActivityDirtyMembers.objects.exists()
    again = caught_up(acme)
    assert (again.members, again.updated) == (0, 0)
    assert figures(acme, alice) == (1, now - dt.timedelta(days=2))


def test_catch_up_is_exact_after_backfill_duplicates_and_live_activity(acme, acme_client, service_key, people):
    alice, bob = people
    now = yesterday_noon()  # half an hour before it is still its day
    # Live activity: counted at once, and later than anything ingested below.
    activity_record_write(schema=acme.schema_name, membership_id=alice.pk, kinds=ActivityKind.LOGIN, at=now)
    assert figures(acme, alice) == (1, now)
    # Bob's figures are wrong to start with (as after a manual edit): the catch-up recounts them.
    with schema_context(acme.schema_name):
        Membership.objects.filter(pk=bob.pk).update(days_active=99)

    moments = [now - dt.timedelta(minutes=30), now - dt.timedelta(days=1), now - dt.timedelta(days=400)]
    first_batch = [
        {"user": person.email, "kind": kind, "timestamp": iso(moment)}
        for person in (alice, bob)
        for moment in moments
        for kind in ("api", "page_view", "api")  # duplicates within the batch
    ]
    second_batch = [
        *first_batch[:4],
        {"user": bob.username, "kind": "sdk", "timestamp": iso(now - dt.timedelta(days=5, hours=2))},
        {"user": alice.email, "kind": "sdk", "timestamp": iso(now - dt.timedelta(days=399))},
    ]
    assert post(acme_client, first_batch, service_key).json()["accepted"] == 18
    assert post(acme_client, second_batch, service_key).json()["accepted"] == 6

    assert caught_up(acme).members == 2
    assert figures(acme, alice) == exact_figures(acme, alice) == (4, now)  # never moved back
    assert figures(acme, bob) == exact_figures(acme, bob) == (4, now - dt.timedelta(minutes=30))
    # Live activity on a new day after the catch-up adds to the recounted figure.
    later = now + dt.timedelta(days=1)
    activity_record_write(schema=acme.schema_name, membership_id=bob.pk, kinds=ActivityKind.API, at=later)
    assert figures(acme, bob) == exact_figures(acme, bob) == (5, later)
    assert caught_up(acme).members == 0


def test_committing_an_ingestion_queues_one_catch_up_per_org_for_a_few_seconds_later(
    acme, globex, acme_client, globex_client, people, no_catch_up_queued, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    alice, _ = people
    queued = []

    def send_task(name, args=None, kwargs=None, **options):
        assert name == tasks.catch_up_membership_stats.name
        queued.append((connection.schema_name, options["countdown"]))
        assert options["expires"] > options["countdown"]

    monkeypatch.setattr(celery_app, "send_task", send_task)
    event = [{"user": alice.email, "kind": "api", "timestamp": iso(timezone.now())}]
    acme_key, globex_key = key_of(acme, None), key_of(globex, None)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(acme_client, event, acme_key).status_code == 202
    assert queued == [("acme", services.CATCH_UP_DELAY_SECONDS)]
    with django_capture_on_commit_callbacks(execute=True):
        post(acme_client, event, acme_key)  # the one already queued covers this batch too
        globex_event = {"user": "admin@globex.test", "kind": "api", "timestamp": iso(timezone.now())}
        post(globex_client, [globex_event], globex_key)
    assert queued == [("acme", services.CATCH_UP_DELAY_SECONDS), ("globex", services.CATCH_UP_DELAY_SECONDS)]
    with schema_context(acme.schema_name):
        assert 0 < cache.ttl(services.CATCH_UP_CACHE_KEY) <= services.CATCH_UP_DELAY_SECONDS
        cache.delete(services.CATCH_UP_CACHE_KEY)  # as when it expires
    with django_capture_on_commit_callbacks(execute=True):
        post(acme_client, event, acme_key)
    assert queued[-1] == ("acme", services.CATCH_UP_DELAY_SECONDS) and len(queued) == 3
    # A request that wrote nothing queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(acme_client, [{"user": "nobody@acme.test", "kind": "api", "timestamp": iso(timezone.now())}], acme_key)
    assert callbacks == []


def test_without_redis_ingestion_still_succeeds_and_the_refresh_catches_up(
    acme, acme_client, service_key, people, no_catch_up_queued, monkeypatch, django_capture_on_commit_callbacks
):
    alice, _ = people

    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "add", unreachable)
    moment = timezone.now().replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(acme_client, [{"user": alice.email, "kind": "api", "timestamp": iso(moment)}], service_key)
    assert response.status_code == 202
    assert figures(acme, alice) == (0, None)
    # Beat's per-org refresh brings the members up to date before the aggregates.
    with schema_context(acme.schema_name):
        summary = tasks.refresh_organization_activity()
    assert "1 members caught up" in summary
    assert figures(acme, alice) == (1, moment)


def test_the_refresh_command_catches_up_members_first(acme, acme_client, service_key, people, capsys):
    alice, bob = people
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    events = [{"user": person.email, "kind": "api", "timestamp": iso(moment)} for person in (alice, bob)]
    post(acme_client, events, service_key)
    call_command("refresh_activity", org="acme")
    assert "acme: 2 members caught up;" in capsys.readouterr().out
    assert figures(acme, alice) == figures(acme, bob) == (1, moment)


def test_members_of_another_org_are_unknown_here(acme, globex, acme_client, service_key):
    events = [{"user": "admin@globex.test", "kind": "api", "timestamp": iso(timezone.now())}]
    body = post(acme_client, events, service_key).json()
    assert body["accepted"] == 0 and body["rejected"][0]["index"] == 0
    connection.set_tenant(globex)
    assert not ActivityDay.objects.exists()


def test_at_most_ten_thousand_events(acme, acme_client, service_key, people):
    alice, _ = people
    now = timezone.now()
    event = {"user": alice.email, "kind": "api", "timestamp": iso(now)}
    response = post(acme_client, [event] * 10_001, service_key)
    assert response.status_code == 400
    body = response.json()
    assert "10,000" in body["detail"] and "10,001" in body["detail"]
    assert "events" in body["errors"]
    assert rows_of(acme, alice) == {}

    response = post(acme_client, [event] * 10_000, service_key)
    assert response.status_code == 202
    assert response.json() == {"accepted": 10_000, "rejected": []}


def test_a_full_batch_of_several_megabytes_is_read_and_a_bigger_body_is_a_clear_413(
    acme, acme_client, service_key, people
):
    alice, _ = people
    event = {"user": alice.email, "kind": "api", "timestamp": iso(timezone.now())}
    # Pretty-printed, 10,000 events are several megabytes: past Django's default 2.5 MB limit.
    body = json.dumps({"events": [event] * 10_000}, indent=30)
    assert 2_621_440 < len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = post(acme_client, body, service_key)
    assert response.status_code == 202, response.content[:200]
    assert response.json() == {"accepted": 10_000, "rejected": []}

    bob_event = {"user": people[1].email, "kind": "api", "timestamp": iso(timezone.now())}
    too_big = json.dumps({"events": [bob_event], "padding": " " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    connection.set_tenant(acme)
    admin_key = api_key_create(membership=make_member(role=Role.ADMIN))[1]
    connection.set_schema_to_public()
    for path, key in ((EVENTS, service_key), ("/api/v1/users/bulk/", admin_key), ("/api/v1/invites/", admin_key)):
        response = acme_client.post(path, too_big, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 413, path
        assert response["Content-Type"] == "application/json"
        assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in response.json()["detail"]
    assert rows_of(acme, people[1]) == {}


def test_writing_is_bulk_not_one_query_per_event(acme, acme_client, service_key):
    connection.set_tenant(acme)
    members = [make_member() for _ in range(30)]
    connection.set_schema_to_public()
    now = timezone.now()

    def queries_for(count: int) -> int:
        events = [
            {
                "user": members[index % len(members)].email,
                "kind": "api",
                "timestamp": iso(now - dt.timedelta(days=index % 50, minutes=index)),
            }
            for index in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            assert post(acme_client, events, service_key).status_code == 202
        return len(captured.captured_queries)

    queries_for(1)  # the key's first use of the minute writes its last-used time
    assert queries_for(3) == queries_for(900)


def test_bad_bodies_are_clear_400s(acme, acme_client, service_key):
    for body in ('{"events": "lots"}', "[1, 2]", "{}", "not json"):
        response = post(acme_client, body, service_key)
        assert response.status_code == 400, body
        assert response.json()["detail"]
    assert post(acme_client, [], service_key).json() == {"accepted": 0, "rejected": []}


def test_admins_may_ingest_with_their_key_or_session_and_members_may_not(acme, acme_client, people):
    alice, _ = people
    event = [{"user": alice.email, "kind": "api", "timestamp": iso(timezone.now())}]
    assert post(acme_client, event, key_of(acme, "admin@acme.test")).status_code == 202
    assert post(acme_client, event, key_of(acme, "member@acme.test")).status_code == 403
    assert post(acme_client, event, key_of(acme, "viewer@acme.test")).status_code == 403
    assert post(acme_client, event).status_code == 401
    assert login(acme_client, "admin@acme.test").status_code == 302
    assert post(acme_client, event).status_code == 202


def test_a_service_key_can_ingest_and_nothing_else(acme, acme_client, service_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {service_key}"}
    for path in ("/api/v1/users/", "/api/v1/users/export.csv", "/api/v1/activity/summary/", "/api/v1/api-keys/"):
        response = acme_client.get(path, **auth)
        assert response.status_code == 403, path
    response = acme_client.post(
        "/api/v1/invites/", {"emails": ["x@acme.test"]}, content_type="application/json", **auth
    )
    assert response.status_code == 403
    response = acme_client.post("/api/v1/runs/", {"project": "p", "name": "n"}, content_type="application/json", **auth)
    assert response.status_code == 403
    assert post(acme_client, [], service_key).status_code == 202


def test_a_service_key_of_one_org_does_not_open_another(acme, globex_client, service_key):
    assert post(globex_client, [], service_key).status_code == 401


def test_the_endpoint_is_in_the_openapi_schema(acme_client):
    schema = acme_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/activity/events/" in schema and "/api/v1/runs/" in schema
