"""CSV export: header, values (the same as the API's), quoting, formula injection, filters, streaming."""

import csv
import io
from datetime import UTC, datetime, timedelta

from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.exports import CHUNK_BYTES, CSV_HEADER
from accounts.models import AuditEvent, Membership, Role
from tests.clock import Clock
from tests.factories import make_member, make_pending_invite, make_user

HEADER = "username,name,email,role,status,last_active,added,days_active,invited_by,deactivated_at"


def _export(client, **params):
    response = client.get("/api/v1/users/export.csv", params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    content = b"".join(response.streaming_content).decode("utf-8")
    return response, content


def _rows(content):
    return list(csv.DictReader(io.StringIO(content)))


def test_header_filename_and_content_type(admin_client, monkeypatch):
    clock = Clock(monkeypatch)  # the file is named after the day the test expects
    response, content = _export(admin_client)
    assert CSV_HEADER == HEADER
    assert content.splitlines()[0] == HEADER
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = clock.now.date().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="acme-users-{today}.csv"'


def test_values_match_the_user_object(admin_client, in_acme):
    inviter = Membership.objects.get(email="admin@acme.test").user
    member = make_member(
        user=make_user(email="csv@acme.test", name="Csv Person"),
        created_at=datetime(2025, 1, 3, 10, 0, 0, 999999, tzinfo=UTC),
        last_active=timezone.now() - timedelta(days=2),
        days_active=42,
        invited_by_email=inviter.email,
    )
    gone = make_member(user=make_user(email="csv-gone@acme.test"), state=Membership.State.DEACTIVATED)
    gone.deactivated_at = timezone.now()
    gone.save()
    invite = make_pending_invite(email="csv-invite@acme.test", role=Role.VIEWER)
    _, content = _export(admin_client, search="csv")
    rows = {row["email"]: row for row in _rows(content)}
    assert set(rows) == {"csv@acme.test", "csv-gone@acme.test", "csv-invite@acme.test"}
    for membership in (member, gone, invite):
        api = admin_client.get(f"/api/v1/users/{membership.pk}/").json()
        row = rows[api["email"]]
        for column in HEADER.split(","):
            expected = api[column]
            assert row[column] == ("" if expected is None else str(expected)), (column, row, api)
    assert rows["csv@acme.test"]["added"] == "2025-01-03T10:00:00Z"
    assert rows["csv-invite@acme.test"]["status"] == "invite_pending"
    assert rows["csv-invite@acme.test"]["username"] == ""


def test_quoting_and_formula_injection(admin_client, in_acme):
    hostile = {
        "a@inject.test": ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        "b@inject.test": ("+1+2", "'+1+2"),
        "c@inject.test": ("-2", "'-2"),
        "d@inject.test": ("@SUM(A1)", "'@SUM(A1)"),
        "e@inject.test": ("\tTabbed", "'\tTabbed"),
        "f@inject.test": ("\rReturn", "'\rReturn"),
        "g@inject.test": ('Quote "me", please\nnew line', 'Quote "me", please\nnew line'),
        "h@inject.test": ("Plain = fine", "Plain = fine"),
    }
    for email, (name, _) in hostile.items():
        make_member(user=make_user(email=email, name=name))
    make_member(user=make_user(email="=cmd@inject.test", name="x"))
    _, content = _export(admin_client, search="inject.test", ordering="email")
    rows = _rows(content)
    by_email = {row["email"]: row["name"] for row in rows}
    for email, (_, expected) in hostile.items():
        assert by_email[email] == expected, email
    assert "'=cmd@inject.test" in by_email  # any text column, the e-mail too
    # RFC 4180: embedded quotes doubled, the field quoted.
    assert '"Quote ""me"", please\nnew line"' in content


def test_filters_apply(admin_client, in_acme):
    make_member(user=make_user(email="f1@filters.test"), role=Role.VIEWER)
    make_member(user=make_user(email="f2@filters.test"), state=Membership.State.DEACTIVATED)
    make_pending_invite(email="f3@filters.test")
    emails = lambda **p: sorted(r["email"] for r in _rows(_export(admin_client, search="filters.test", **p)[1]))  # noqa: E731
    assert emails() == ["f1@filters.test", "f2@filters.test", "f3@filters.test"]
    assert emails(role="viewer") == ["f1@filters.test"]
    assert emails(status="deactivated,invite_pending") == ["f2@filters.test", "f3@filters.test"]
    assert emails(status=["deactivated", "invite_pending"]) == ["f2@filters.test", "f3@filters.test"]
    repeated_role = admin_client.get("/api/v1/users/export.csv", {"role": ["viewer", "admin"]})
    assert repeated_role.status_code == 400 and repeated_role["Content-Type"] == "application/json"
    assert "role" in repeated_role.json()["errors"]
    bad = admin_client.get("/api/v1/users/export.csv", {"status": "nope"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"
    assert "status" in bad.json()["errors"]


def test_export_is_audited(admin_client, in_acme):
    _export(admin_client, role="admin")
    event = AuditEvent.objects.filter(action="users.export").latest("id")
    assert event.actor_email == "admin@acme.test" and event.data["role"] == "admin"


def test_ten_thousand_users_stream_in_chunks(admin_client, in_acme):
    from django.contrib.auth import get_user_model

    now = timezone.now()
    Membership.objects.bulk_create(
        Membership(email=f"invite{i:04d}@big.test", state=Membership.State.INVITED, created_at=now) for i in range(1000)
    )
    User = get_user_model()
    users = User.objects.bulk_create(
        User(email=f"bulk{i:04d}@big.test", username=f"bulk{i:04d}", name=f"Bulk {i}") for i in range(9000)
    )
    Membership.objects.bulk_create(
        Membership(
            user=user,
            email=user.email,
            username=user.username,
            name=user.name,
            state=Membership.State.JOINED,
            last_active=now - timedelta(hours=n),  # up to a year back: some are inactive
            created_at=now - timedelta(days=400),
            days_active=n % 300,
        )
        for n, user in enumerate(users)
    )
    response = admin_client.get("/api/v1/users/export.csv", {"search": "big.test"})
    chunks = list(response.streaming_content)
    assert len(chunks) > 5 and max(len(c) for c in chunks) < CHUNK_BYTES + 4096
    rows = _rows(b"".join(chunks).decode())
    assert len(rows) == 10_000
    assert len({row["email"] for row in rows}) == 10_000
    assert {row["status"] for row in rows} == {"invite_pending", "active", "inactive"}
    # Default ordering, like the list: most recently active first, never-active (the invites) last.
    assert [row["email"] for row in rows[:2]] == ["bulk0000@big.test", "bulk0001@big.test"]
    assert all(row["status"] == "invite_pending" for row in rows[-1000:])
