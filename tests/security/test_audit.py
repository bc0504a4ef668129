"""The audit trail: every admin and support action leaves a row that admins can read, filter and
export, support staff see in Django admin, and nobody can change or delete through the app."""

import csv
import datetime as dt
import io
import re
import uuid

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import AuditEvent, Role
from orgdash.core.models import User
from tests.clock import Clock
from tests.conftest import PASSWORD, host_of, login
from tests.factories import make_member
from tests.security.conftest import forget_cache_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(acme, acme_client):
    assert login(acme_client, "admin@acme.test").status_code == 302
    return acme_client


@pytest.fixture(autouse=True)
def _forget_staff_views():
    forget_cache_keys("audit:staff-view")
    yield
    forget_cache_keys("audit:staff-view")


def audit_rows(client, **params):
    response = client.get("/api/v1/audit/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_each_admin_action_is_recorded_with_actor_target_time_and_ip(acme, admin_client):
    started = timezone.now()
    invited = admin_client.post(
        "/api/v1/invites/", {"emails": ["audited@example.test"], "role": "member"}, content_type="application/json"
    )
    assert invited.status_code == 201, invited.content
    invite_id = invited.json()["invited"][0]["id"]
    assert admin_client.post(f"/api/v1/invites/{invite_id}/resend/").status_code == 200
    assert admin_client.delete(f"/api/v1/invites/{invite_id}/").status_code == 204

    connection.set_tenant(acme)
    target = make_member(role=Role.MEMBER)
    connection.set_schema_to_public()
    url = f"/api/v1/users/{target.pk}/"
    assert admin_client.patch(url, {"role": "viewer"}, content_type="application/json").status_code == 200
    assert admin_client.post(url + "deactivate/").status_code == 200
    assert admin_client.post(url + "reactivate/").status_code == 200

    # This test's rows (committed tests may have left others in acme's trail).
    rows = [
        row for row in audit_rows(admin_client)["results"] if row["target"] in ("audited@example.test", target.email)
    ]
    actions = [row["action"] for row in rows]
    for action in (
        "invite.create",
        "invite.resend",
        "invite.cancel",
        "membership.change_role",
        "membership.deactivate",
        "membership.reactivate",
    ):
        assert action in actions, f"{action} missing from {actions}"
    for row in rows:
        assert row["actor"] == "admin@acme.test"
        assert row["ip_address"] == "127.0.0.1"
        assert dt.datetime.fromisoformat(row["time"].replace("Z", "+00:00")) >= started - dt.timedelta(seconds=1)
    by_action = {row["action"]: row for row in rows}
    assert by_action["invite.cancel"]["target"] == "audited@example.test"
    assert by_action["membership.deactivate"]["target"] == target.email
    assert by_action["membership.deactivate"]["target_id"] == target.pk
    # Newest first.
    times = [row["time"] for row in rows]
    assert times == sorted(times, reverse=True)
    assert actions.index("membership.reactivate") < actions.index("invite.create")


def test_the_users_export_is_recorded(admin_client):
    before = audit_rows(admin_client, action="users.export")["count"]
    response = admin_client.get("/api/v1/users/export.csv")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    after = audit_rows(admin_client, action="users.export")
    assert after["count"] == before + 1
    assert after["results"][0]["actor"] == "admin@acme.test"


@pytest.fixture
def tag():
    """A domain of this test's own: other tests (some committed) leave rows in acme's trail too."""
    return f"t{uuid.uuid4().hex[:10]}.test"


@pytest.fixture
def some_events(in_acme, tag):
    now = timezone.now()
    admin_user = User.objects.get(email="admin@acme.test")
    events = []
    for days_ago, action, target, actor_email in [
        (0, "membership.deactivate", f"zoe@{tag}", "admin@acme.test"),
        (1, "invite.create", f"yan@{tag}", "admin@acme.test"),
        (3, "invite.create", f"xia@{tag}", "second-admin@acme.test"),
        (10, "membership.change_role", f"zoe@{tag}", "admin@acme.test"),
    ]:
        events.append(
            AuditEvent.objects.create(
                created_at=now - dt.timedelta(days=days_ago),
                actor=admin_user if actor_email == admin_user.email else None,
                actor_email=actor_email,
                action=action,
                target_repr=target,
                ip_address="203.0.113.7",
            )
        )
    connection.set_schema_to_public()
    return events


def test_filters_narrow_the_list(admin_client, some_events, tag):
    today = timezone.now().date()
    assert audit_rows(admin_client, target=tag)["count"] == 4
    assert [r["target"] for r in audit_rows(admin_client, target=tag, action="invite.create")["results"]] == [
        f"yan@{tag}",
        f"xia@{tag}",
    ]
    assert audit_rows(admin_client, target=tag, action="invite.create,membership.deactivate")["count"] == 3
    assert audit_rows(admin_client, target=tag, action=["invite.create", "membership.deactivate"])["count"] == 3
    assert audit_rows(admin_client, target=tag, actor="SECOND-admin")["count"] == 1
    assert audit_rows(admin_client, target=f"zoe@{tag}")["count"] == 2
    since = (today - dt.timedelta(days=3)).isoformat()
    assert audit_rows(admin_client, target=tag, since=since)["count"] == 3
    until = (today - dt.timedelta(days=1)).isoformat()
    assert audit_rows(admin_client, target=tag, since=since, until=until)["count"] == 2
    assert audit_rows(admin_client, target=tag, until=(today - dt.timedelta(days=11)).isoformat())["count"] == 0


def test_the_calendars_first_and_last_days_are_open_ended_bounds(admin_client, some_events, tag):
    for since, until, count in (
        ("0001-01-01", "9999-12-31", 4),
        (None, "9999-12-31", 4),
        ("9999-12-31", "9999-12-31", 0),
        ("0001-01-01", "0001-01-01", 0),
    ):
        params = {"target": tag, "until": until, **({"since": since} if since else {})}
        assert audit_rows(admin_client, **params)["count"] == count, params
        response = admin_client.get("/api/v1/audit/export.csv", params)
        assert response.status_code == 200, params
        assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == 1 + count


def test_pagination_has_the_users_list_shape(admin_client, some_events, tag):
    first = audit_rows(admin_client, target=tag, page_size=3)
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 4 and len(first["results"]) == 3 and first["previous"] is None
    second = audit_rows(admin_client, target=tag, page_size=3, page=2)
    assert len(second["results"]) == 1
    seen = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(seen)) == 4
    assert admin_client.get("/api/v1/audit/", {"target": tag, "page": 3}).status_code == 404


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_size": "lots"}, "Invalid page_size: give a whole number from 1 to 500."),
        ({"page_size": "0"}, "Invalid page_size: give a whole number from 1 to 500."),
        ({"page_size": "-1"}, "Invalid page_size: give a whole number from 1 to 500."),
        ({"page_size": "2.0"}, "Invalid page_size: give a whole number from 1 to 500."),
        ({"page": "abc"}, "Invalid page: give a whole number from 1."),
        ({"page": "1.0"}, "Invalid page: give a whole number from 1."),
        ({"page": "0"}, "Invalid page: pages start at 1."),
        ({"page": ["1", "2"]}, "Give page one value; it was given 2 different ones."),
    ],
)
def test_a_bad_page_or_page_size_is_a_400_as_on_the_users_list(admin_client, some_events, tag, params, message):
    response = admin_client.get("/api/v1/audit/", {"target": tag, **params})
    assert response.status_code == 400
    [field] = params
    assert response.json()["errors"][field] == [message]
    users = admin_client.get("/api/v1/users/", params)
    assert users.status_code == 400 and users.json()["errors"][field] == [message]


def test_a_page_size_above_500_is_not_refused_as_on_the_users_list(admin_client, some_events, tag):
    response = admin_client.get("/api/v1/audit/", {"target": tag, "page_size": "100000"})
    assert response.status_code == 200 and len(response.json()["results"]) == 4


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
        ({"actor": "a\x00b"}, "actor"),
        ({"since": ["2026-05-01", "2026-05-02"]}, "since"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(admin_client, params, field):
    response = admin_client.get("/api/v1/audit/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert field in body["errors"]


def test_members_viewers_and_strangers_cannot_read_it(acme_client, globex_client):
    assert acme_client.get("/api/v1/audit/").status_code == 401
    login(acme_client, "member@acme.test")
    assert acme_client.get("/api/v1/audit/").status_code == 403
    assert acme_client.get("/api/v1/audit/export.csv").status_code == 403
    login(globex_client, "admin@globex.test")
    assert globex_client.get("/api/v1/audit/", HTTP_HOST=host_of("acme")).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/audit/", "/api/v1/audit/export.csv"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_rows_cannot_be_written_through_the_api(admin_client, some_events, tag, path, method):
    response = getattr(admin_client, method)(path, "{}", content_type="application/json")
    assert response.status_code == 405
    assert audit_rows(admin_client, target=tag)["count"] == 4


def test_no_route_under_audit_accepts_an_id(admin_client, some_events):
    event_id = some_events[0].pk
    for method in ("get", "patch", "delete"):
        assert getattr(admin_client, method)(f"/api/v1/audit/{event_id}/").status_code == 404


def test_export_is_csv_safe_streamed_and_audited(acme, admin_client, monkeypatch):
    connection.set_tenant(acme)
    AuditEvent.objects.create(
        actor_email="=cmd|' /C calc'!A0",
        action="invite.create",
        target_repr='@SUM(1+1)*cmd|" /C calc"!A0',
        ip_address="198.51.100.4",
        data={"role": "-2+3"},
    )
    connection.set_schema_to_public()
    # The file is named on the product's clock: here, just past the coming midnight.
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    Clock(monkeypatch, at=dt.datetime.combine(tomorrow, dt.time(0, 0, 1), dt.UTC))
    response = admin_client.get("/api/v1/audit/export.csv", {"action": "invite.create"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="acme-audit-{tomorrow}.csv"'
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "actor", "action", "target", "ip_address", "details"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["actor"] == "'=cmd|' /C calc'!A0"
    assert row["target"] == '\'@SUM(1+1)*cmd|" /C calc"!A0'
    assert row["ip_address"] == "198.51.100.4"
    assert row["details"] == '{"role": "-2+3"}'
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    exports = audit_rows(admin_client, action="audit.export")["results"]
    assert len(exports) == 1 and exports[0]["actor"] == "admin@acme.test"


def test_support_staff_opening_an_org_is_recorded_once_an_hour(acme, acme_client):
    assert login(acme_client, "support@orgdash.test").status_code == 302
    assert acme_client.get("/org/dashboard/").status_code == 200
    assert acme_client.get("/org/dashboard/activity/").status_code == 200
    assert acme_client.get("/org/dashboard/audit/").status_code == 200
    rows = audit_rows(acme_client, action="staff.view_org")["results"]
    assert len(rows) == 1
    assert rows[0]["actor"] == "support@orgdash.test"
    assert rows[0]["target"] == acme.name
    assert rows[0]["ip_address"] == "127.0.0.1"
    # An hour later (the cache key has expired) the next visit is recorded again.
    forget_cache_keys("audit:staff-view")
    acme_client.get("/org/dashboard/")
    assert audit_rows(acme_client, action="staff.view_org")["count"] == 2


def test_staff_views_are_per_org(acme, globex, acme_client, globex_client):
    login(acme_client, "support@orgdash.test")
    login(globex_client, "support@orgdash.test")
    acme_client.get("/org/dashboard/")
    globex_client.get("/org/dashboard/")
    connection.set_tenant(globex)
    assert AuditEvent.objects.filter(action="staff.view_org").count() == 1
    connection.set_tenant(acme)
    assert AuditEvent.objects.filter(action="staff.view_org").count() == 1


def test_staff_views_are_deduplicated_through_the_database_when_the_cache_is_down(acme, acme_client, monkeypatch):
    from accounts import audit_services

    def cache_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    login(acme_client, "support@orgdash.test")
    monkeypatch.setattr(audit_services.cache, "add", cache_down)
    for _ in range(3):
        assert acme_client.get("/org/dashboard/").status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.filter(action="staff.view_org").count() == 1


def test_admins_opening_their_own_dashboard_are_not_staff_views(acme, admin_client):
    admin_client.get("/org/dashboard/")
    assert audit_rows(admin_client, action="staff.view_org")["count"] == 0


def test_audit_page_is_a_third_tab_without_inline_script(admin_client, some_events):
    response = admin_client.get("/org/dashboard/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/org/dashboard/audit/"' in html and ">Audit log</a>" in html
    assert 'aria-current="page">Audit log' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, f"inline script: {tag}"
    assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None  # no code between the tags
    assert " on" not in " ".join(re.findall(r"<[^>]+ on[a-z]+=", html))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "/static/orgdash/audit.js" in html
    # The action filter offers the actions that were recorded.
    assert '<option value="invite.create">' in html
    # The other tabs link to it too.
    assert 'href="/org/dashboard/audit/"' in admin_client.get("/org/dashboard/").content.decode()


def test_members_get_403_and_strangers_the_login_page(acme_client):
    response = acme_client.get("/org/dashboard/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    login(acme_client, "viewer@acme.test")
    assert acme_client.get("/org/dashboard/audit/").status_code == 403


def test_django_admin_shows_the_trail_read_only_to_support_staff(acme, some_events, tag):
    staff_client = Client(HTTP_HOST=host_of("acme"))
    login(staff_client, "support@orgdash.test")
    response = staff_client.get("/admin/accounts/auditevent/")
    assert response.status_code == 200
    assert f"zoe@{tag}".encode() in response.content
    event = some_events[0]
    change_page = staff_client.get(f"/admin/accounts/auditevent/{event.pk}/change/")
    assert change_page.status_code == 200  # the view page, read-only
    assert b'name="_save"' not in change_page.content
    assert staff_client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "x"}).status_code == 403
    assert staff_client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.get("/admin/accounts/auditevent/add/").status_code == 403
    listing = staff_client.get("/admin/accounts/auditevent/").content.decode()
    assert "delete_selected" not in listing
    connection.set_tenant(acme)
    assert AuditEvent.objects.get(pk=event.pk).action == event.action

    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(email="support@orgdash.test")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)


def test_an_idempotent_repeat_leaves_one_row(acme, admin_client):
    connection.set_tenant(acme)
    member = make_member(role=Role.MEMBER)
    connection.set_schema_to_public()
    assert admin_client.post(f"/api/v1/users/{member.pk}/deactivate/").status_code == 200
    assert admin_client.post(f"/api/v1/users/{member.pk}/deactivate/").status_code == 200
    assert audit_rows(admin_client, action="membership.deactivate")["count"] == 1


def test_support_staff_browsing_django_admin_is_recorded(acme, acme_client, public_client):
    """Staff reading an org's members in Django admin leave the same trail as on the dashboard:
    on the org's host, and from the public host's members page of that org."""
    login(acme_client, "support@orgdash.test")
    assert acme_client.get("/admin/accounts/membership/").status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.filter(action="staff.view_org", data__path="/admin/accounts/membership/").count() == 1
    AuditEvent.objects.filter(action="staff.view_org").delete()
    forget_cache_keys("audit:staff-view")
    connection.set_schema_to_public()

    public_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    response = public_client.get(f"/admin/core/organization/{acme.pk}/members/")
    assert response.status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.filter(action="staff.view_org").count() == 1
