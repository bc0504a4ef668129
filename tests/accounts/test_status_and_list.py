"""Status derivation, filtering, ordering and counts of the Users list, in SQL, read through the API."""

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.models import Membership, Role, Status
from tests.factories import make_member, make_pending_invite, make_user

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _status_of(membership, now=None) -> str:
    return selectors.membership_list(now=now).get(pk=membership.pk).status


def test_six_calendar_months_boundary_a_day_either_side(in_acme):
    now = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    cutoff = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)  # six calendar months back (Feb has no 31st)
    assert selectors.inactivity_cutoff(now) == cutoff
    day = timedelta(days=1)
    recent = make_member(created_at=LONG_AGO, last_active=cutoff + day)
    exactly = make_member(created_at=LONG_AGO, last_active=cutoff)
    stale = make_member(created_at=LONG_AGO, last_active=cutoff - day)
    joined_recently = make_member(created_at=cutoff + day, last_active=None)
    joined_long_ago = make_member(created_at=cutoff - day, last_active=None)
    assert _status_of(recent, now) == Status.ACTIVE
    assert _status_of(exactly, now) == Status.ACTIVE
    assert _status_of(stale, now) == Status.INACTIVE
    assert _status_of(joined_recently, now) == Status.ACTIVE
    assert _status_of(joined_long_ago, now) == Status.INACTIVE
    # A month later the same people have moved on.
    assert _status_of(recent, now + relativedelta(months=1)) == Status.INACTIVE


def test_status_filter_agrees_with_status_expression(in_acme):
    now = timezone.now()
    cutoff = selectors.inactivity_cutoff(now)
    people = {
        Status.ACTIVE: make_member(created_at=LONG_AGO, last_active=cutoff + timedelta(days=1)),
        Status.INACTIVE: make_member(created_at=LONG_AGO, last_active=cutoff - timedelta(days=1)),
        Status.DEACTIVATED: make_member(state=Membership.State.DEACTIVATED, created_at=LONG_AGO),
        Status.INVITE_PENDING: make_pending_invite(),
    }
    for status, membership in people.items():
        listed = selectors.membership_list(statuses=[status], now=now)
        assert listed.filter(pk=membership.pk).exists()
        assert {row.status for row in listed} == {status}
        others = [m.pk for s, m in people.items() if s != status]
        assert not listed.filter(pk__in=others).exists()


def test_counts_per_status(admin_client, in_acme):
    before = admin_client.get("/api/v1/users/counts/").json()
    viewers_before = admin_client.get("/api/v1/users/counts/?role=viewer").json()
    connection.set_tenant(in_acme)
    make_pending_invite()
    make_member(state=Membership.State.DEACTIVATED)
    make_member(created_at=LONG_AGO, last_active=None, role=Role.VIEWER)
    after = admin_client.get("/api/v1/users/counts/").json()
    assert after["invite_pending"] == before["invite_pending"] + 1
    assert after["deactivated"] == before["deactivated"] + 1
    assert after["inactive"] == before["inactive"] + 1
    assert after["total"] == before["total"] + 3
    assert after["total"] == sum(after[s] for s in Status.values)
    viewers = admin_client.get("/api/v1/users/counts/?role=viewer").json()
    assert viewers["total"] == viewers_before["total"] + 1
    assert viewers["inactive"] == viewers_before["inactive"] + 1
    searched = admin_client.get("/api/v1/users/counts/?search=admin@acme").json()
    assert searched["total"] == 1 and searched["active"] + searched["inactive"] == 1
    assert admin_client.get("/api/v1/users/counts/?role=boss").status_code == 400
    assert admin_client.get("/api/v1/users/counts/?status=zzz").status_code == 400


@pytest.fixture
def sortable_people(in_acme):
    """Members with known values; tagged by a unique e-mail domain so tests can search for them."""
    now = timezone.now()
    tag = "sortme.test"
    people = [
        make_member(user=make_user(email=f"c@{tag}", name="Carol"), last_active=now - timedelta(days=1), days_active=5),
        make_member(user=make_user(email=f"a@{tag}", name="Alice"), last_active=None, days_active=0),
        make_member(user=make_user(email=f"b@{tag}", name="Bob"), last_active=now - timedelta(days=3), days_active=9),
        make_member(user=make_user(email=f"d@{tag}", name="Dan"), last_active=None, days_active=0),
        make_member(
            user=make_user(email=f"e@{tag}", name="Eve"),
            last_active=now - timedelta(days=1),
            days_active=5,
            role=Role.ADMIN,
        ),
        make_member(user=make_user(email=f"f@{tag}", name="Fay"), state=Membership.State.DEACTIVATED),
        make_member(user=make_user(email=f"g@{tag}", name="Gus"), created_at=LONG_AGO, last_active=LONG_AGO),
        make_pending_invite(email=f"h@{tag}"),
    ]
    # Carol and Eve share last_active exactly: a tie broken by id.
    people[4].last_active = people[0].last_active
    people[4].save(update_fields=["last_active"])
    return tag, people


def _emails(client, tag, ordering):
    response = client.get("/api/v1/users/", {"search": tag, "ordering": ordering})
    assert response.status_code == 200, response.content
    return [row["email"].split("@")[0] for row in response.json()["results"]]


def test_last_active_nulls_last_both_ways_and_ties_by_id(admin_client, sortable_people):
    tag, _ = sortable_people
    descending = _emails(admin_client, tag, "-last_active")
    ascending = _emails(admin_client, tag, "last_active")
    # Nulls (Alice, Dan, the deactivated Fay, the invite h) last in both directions, by id among themselves.
    nulls = ["a", "d", "f", "h"]
    assert descending == ["c", "e", "b", "g", *nulls]
    assert ascending == ["g", "b", "c", "e", *nulls]
    assert _emails(admin_client, tag, "") == descending  # default ordering


def test_status_ordering_and_ties_by_id(admin_client, sortable_people):
    tag, _ = sortable_people
    assert _emails(admin_client, tag, "status") == ["h", "c", "a", "b", "d", "e", "g", "f"]
    assert _emails(admin_client, tag, "-status") == ["f", "g", "c", "a", "b", "d", "e", "h"]


def test_other_orderings(admin_client, sortable_people):
    tag, _ = sortable_people
    assert _emails(admin_client, tag, "name") == ["a", "b", "c", "d", "e", "f", "g", "h"]  # invite: null name last
    assert _emails(admin_client, tag, "-name") == ["g", "f", "e", "d", "c", "b", "a", "h"]
    assert _emails(admin_client, tag, "email") == list("abcdefgh")
    assert _emails(admin_client, tag, "-email") == list("hgfedcba")
    assert _emails(admin_client, tag, "-days_active") == ["b", "c", "e", "a", "d", "f", "g", "h"]
    assert _emails(admin_client, tag, "-role")[-1] == "e"  # the admin last when descending
    assert _emails(admin_client, tag, "-added")[-1] == "g"
    assert _emails(admin_client, tag, "added")[0] == "g"


def test_name_ordering_ignores_case(admin_client, in_acme):
    for email, name in (("n1@case.test", "bob"), ("n2@case.test", "Alice"), ("n3@case.test", "Carl")):
        make_member(user=make_user(email=email, name=name))
    names = lambda ordering: [  # noqa: E731
        row["name"]
        for row in admin_client.get("/api/v1/users/", {"search": "case.test", "ordering": ordering}).json()["results"]
    ]
    assert names("name") == ["Alice", "bob", "Carl"]
    assert names("-name") == ["Carl", "bob", "Alice"]


def test_filters_search_status_role(admin_client, sortable_people):
    tag, _ = sortable_people

    def emails(**params):
        response = admin_client.get("/api/v1/users/", {"search": tag, **params, "ordering": "email"})
        assert response.status_code == 200, response.content
        return [row["email"].split("@")[0] for row in response.json()["results"]]

    assert emails(status="active") == ["a", "b", "c", "d", "e"]
    assert emails(status="inactive,deactivated") == ["f", "g"]
    assert emails(status="invite_pending") == ["h"]
    # A repeated status reads as its values comma-separated: every one of them counts.
    assert emails(status=["inactive", "deactivated"]) == ["f", "g"]
    assert emails(status=["invite_pending", "inactive,deactivated"]) == ["f", "g", "h"]
    assert emails(role="admin") == ["e"]
    assert emails(role="admin", status="inactive") == []
    # A single-value parameter repeated with the same value (a `next` link merged with the
    # client's own parameters) is that value; different values are refused.
    assert emails(role=["admin", "admin"]) == ["e"]
    different = admin_client.get("/api/v1/users/", {"search": tag, "role": ["admin", "viewer"]})
    assert different.status_code == 400 and "role" in different.json()["errors"]
    # Search is a case-insensitive substring of name, username or e-mail.
    response = admin_client.get("/api/v1/users/", {"search": "CAROL"})
    assert [row["email"] for row in response.json()["results"]] == [f"c@{tag}"]
    response = admin_client.get("/api/v1/users/", {"search": "100%_"})  # LIKE wildcards are literal
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "happy"}, "status"),
        ({"status": "active,zzz"}, "status"),
        ({"role": "owner"}, "role"),
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "-id"}, "ordering"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "-5"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"search": "x" * 201}, "search"),
        # One value each: a different second one is refused rather than silently winning over the first.
        ({"role": ["admin", "viewer"]}, "role"),
        ({"ordering": ["name", "-name"]}, "ordering"),
        ({"search": ["a", "b"]}, "search"),
        ({"page": ["1", "2"]}, "page"),
        ({"page_size": ["5", "50"]}, "page_size"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(admin_client, params, field):
    response = admin_client.get("/api/v1/users/", params)
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [field]
    assert field in body["detail"]


def test_pagination_default_cap_and_links(admin_client, in_acme):
    Membership.objects.bulk_create(
        Membership(email=f"bulk{i}@pages.test", state=Membership.State.INVITED) for i in range(520)
    )
    first = admin_client.get("/api/v1/users/", {"search": "pages.test"}).json()
    assert first["count"] == 520 and len(first["results"]) == 50
    assert first["previous"] is None and "page=2" in first["next"]
    capped = admin_client.get("/api/v1/users/", {"search": "pages.test", "page_size": 10000}).json()
    assert len(capped["results"]) == 500  # clamped to the maximum, not refused
    last = admin_client.get("/api/v1/users/", {"search": "pages.test", "page_size": 500, "page": 2}).json()
    assert len(last["results"]) == 20 and last["next"] is None
    ids = [r["id"] for r in capped["results"]] + [r["id"] for r in last["results"]]
    assert len(set(ids)) == 520
    past_end = admin_client.get("/api/v1/users/", {"search": "pages.test", "page": 99})
    assert past_end.status_code == 404 and "detail" in past_end.json()


def test_user_object_shape(admin_client, in_acme):
    inviter = Membership.objects.get(email="admin@acme.test").user
    member = make_member(
        user=make_user(email="shape@acme.test", name="Jane Doe"),
        created_at=datetime(2025, 1, 3, 10, 0, 0, 123456, tzinfo=UTC),
        last_active=timezone.now() - timedelta(days=5),
        days_active=123,
        invited_by=inviter,
        invited_by_email=inviter.email,
    )
    invite = make_pending_invite(email="pending-shape@acme.test", invited_by=inviter)
    body = admin_client.get(f"/api/v1/users/{member.pk}/").json()
    assert set(body) == {
        "id",
        "username",
        "name",
        "email",
        "role",
        "status",
        "status_label",
        "last_active",
        "added",
        "days_active",
        "invited_by",
        "deactivated_at",
        "invite",
    }
    assert body["id"] == member.pk
    assert body["username"] == member.user.username and body["name"] == "Jane Doe"
    assert body["role"] == "member" and body["status"] == "active" and body["status_label"] == "Active"
    assert body["added"] == "2025-01-03T10:00:00Z"
    assert body["last_active"].endswith("Z") and datetime.fromisoformat(body["last_active"]) <= timezone.now()
    assert body["days_active"] == 123 and body["invited_by"] == "admin@acme.test"
    assert body["deactivated_at"] is None and body["invite"] is None
    pending = admin_client.get(f"/api/v1/users/{invite.pk}/").json()
    assert pending["username"] is None and pending["name"] is None
    assert pending["status"] == "invite_pending" and pending["status_label"] == "Invite pending"
    assert pending["last_active"] is None
    inactive = make_member(created_at=LONG_AGO)
    assert admin_client.get(f"/api/v1/users/{inactive.pk}/").json()["status_label"] == "-"


def test_list_query_count_is_constant_in_page_size(admin_client, in_acme):
    Membership.objects.bulk_create(
        Membership(email=f"q{i}@queries.test", state=Membership.State.INVITED) for i in range(60)
    )

    def queries(page_size, ordering="-last_active"):
        params = {"search": "queries.test", "page_size": page_size, "ordering": ordering}
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get("/api/v1/users/", params)
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(page_size, 60)
        # Reads of the list itself (activity recording may add its own throttled writes).
        return len([q for q in captured.captured_queries if q["sql"].startswith(("SELECT", "(SELECT"))])

    queries(1)  # warm-up: the first request of the day records activity
    for ordering in ("-last_active", "status", "-status", "name"):
        assert queries(2, ordering) == queries(60, ordering), ordering


def test_search_and_ordering_use_indexes(in_acme):
    """The planner can serve search from the trigram indexes and each ordering from its btree index."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plans = {}
        for name, queryset in {
            "search": selectors.membership_list(search="acme").order_by(),
            "-last_active": selectors.membership_list(ordering="-last_active")[:50],
            "last_active": selectors.membership_list(ordering="last_active")[:50],
            "name": selectors.membership_list(ordering="name")[:50],
            "-email": selectors.membership_list(ordering="-email")[:50],
        }.items():
            sql, params = queryset.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    assert "membership_search_trgm" in plans["search"]
    assert "membership_lastactive_desc" in plans["-last_active"]
    assert "membership_lastactive_asc" in plans["last_active"]
    assert "membership_lowername_asc" in plans["name"]
    assert "membership_email_desc" in plans["-email"]
