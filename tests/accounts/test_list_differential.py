"""The Users list answers every combination of its parameters exactly as the plain reading would.

API.md, "Second round": a filtered list is the unfiltered list, same ordering, with the
non-matching people taken out. ``selectors.membership_rows_reference`` is that plain reading (one
filtered, fully sorted queryset); the API's fast paths (the per-status merge, the search plans)
must return its rows in its order, page by page, or the same 404 past the end. The same holds for
``users/counts/`` and ``users/export.csv``.

All requests go through the real API (``GET /api/v1/users/`` and friends, an admin's API key) on
one org made for this module: a few hundred ``seed_demo`` people, plus a handful whose names test
case folding, nulls and the search's escaping. The org is committed once and dropped at the end;
acme and globex are never touched. Each test covers one ordering (or one endpoint) and loops over
the rest of the space, collecting every mismatch under the name of its combination.
"""

import csv
import datetime as dt
import io
import itertools
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts import selectors
from accounts.api.serializers import user_representation
from accounts.exports import CSV_HEADER, neutralize_formula
from accounts.models import Membership, Role, Status
from accounts.services import api_key_create, membership_add, user_get_or_create
from orgdash.core.services import organization_create
from tests.conftest import host_of
from tooling.demo import delete_seeded, seed_demo

SLUG = "list-diff"
SEEDED_PEOPLE = 300

STATUS_FILTERS = (
    "",
    *(status.value for status in Status),
    "active,inactive",
    "deactivated,invite_pending",
)
ROLES = ("", *Role.values)
# Filled in by the fixture: none, one person, nobody, many (most of the org).
SEARCH_KINDS = ("none", "one", "nobody", "many")
# 1000 is clamped to 500 (README); 1 makes every row its own page.
PAGE_SIZES = (1, 7, 50, 500, 1000)
BACKGROUND = {"HTTP_X_ORGDASH_BACKGROUND": "1"}  # reading must not move anyone's last_active


class Org:
    def __init__(self, organization, secret: str, searches: dict[str, str]):
        self.organization = organization
        self.searches = searches
        self.client = Client(
            raise_request_exception=False, HTTP_HOST=host_of(SLUG), HTTP_AUTHORIZATION=f"Bearer {secret}", **BACKGROUND
        )

    def reference(self, **filters) -> list[dict]:
        connection.set_tenant(self.organization)
        try:
            return list(selectors.membership_rows_reference(**filters))
        finally:
            connection.set_schema_to_public()


def _extra_people() -> None:
    """People the seed does not make: names equal but for case, no name at all, and names that hold
    the search's wildcard characters (which must match only themselves)."""
    for email, name, role in (
        ("zoe.upper@list-diff.test", "ZOE Case", Role.MEMBER),
        ("zoe.lower@list-diff.test", "zoe case", Role.VIEWER),
        ("nameless@list-diff.test", "", Role.MEMBER),
        ("percent@list-diff.test", "Hundred 100% Sure", Role.MEMBER),
        ("under_score@list-diff.test", "Under_Score", Role.ADMIN),
    ):
        user, _ = user_get_or_create(email=email, name=name)
        membership_add(user=user, role=role)


@pytest.fixture(scope="module")
def seeded_org(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization = organization_create(slug=SLUG, name="List Differential")
        as_of = timezone.now().replace(microsecond=0)
        # reset: a run killed before its teardown left the org behind; start it over.
        seed_demo(organization=organization, users=SEEDED_PEOPLE, days=400, seed=11, as_of=as_of, reset=True)
        connection.set_tenant(organization)
        admin_user, _ = user_get_or_create(email="admin@list-diff.test", name="List Admin")
        admin = membership_add(user=admin_user, role=Role.ADMIN)
        _extra_people()
        # So that one status filter matches nobody: no admin among the pending invites.
        Membership.objects.filter(state=Membership.State.INVITED, role=Role.ADMIN).update(role=Role.MEMBER)
        _, secret = api_key_create(membership=admin, label="differential")
        one = Membership.objects.filter(state=Membership.State.JOINED, name__startswith="A").order_by("id").first()
        connection.set_schema_to_public()
    searches = {"none": "", "one": one.email.upper(), "nobody": "no-such-person-anywhere", "many": "a"}
    yield Org(organization, secret, searches)
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        with transaction.atomic():
            delete_seeded(SLUG)  # the seeded accounts (public schema)
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        # A raw delete: the ORM's cascade collector would look for memberships in the public schema.
        get_user_model().objects.filter(email__endswith="@list-diff.test")._raw_delete(connection.alias)


@pytest.fixture
def org(seeded_org, django_db_blocker):
    """The module's org; the tests only read it, outside any test transaction (committed data)."""
    with django_db_blocker.unblock():
        yield seeded_org
        connection.set_schema_to_public()


@pytest.fixture
def dense_search_plan(monkeypatch):
    """Pages a search by walking the ordering's index, the plan a big org uses for a search with many
    matches (a few hundred people never reach the threshold)."""
    monkeypatch.setattr(selectors, "SPARSE_MATCHES", 0)


def _pages(count: int, page_size: int) -> list[int]:
    """First, a middle one, last, and one past the end (which must be 404)."""
    last = max(1, -(-count // page_size))
    return [*sorted({1, (last + 1) // 2, last}), last + 1]


def _statuses(status: str) -> list[str]:
    return [code for code in status.split(",") if code]


def _name(plan: str, params: dict) -> str:
    return f"{plan} plan, " + "&".join(f"{key}={value}" for key, value in params.items())


def _check_list(org: Org, *, ordering: str, plan: str, searches: tuple[str, ...], offset: int) -> list[str]:
    """Every status, role and search under one ordering; returns the mismatches found."""
    failures = []
    for index, (status, role, search_kind) in enumerate(itertools.product(STATUS_FILTERS, ROLES, searches)):
        search = org.searches[search_kind]
        reference = org.reference(search=search, statuses=_statuses(status), role=role, ordering=ordering)
        page_size = PAGE_SIZES[(index + offset) % len(PAGE_SIZES)]
        rows_per_page = min(page_size, 500)
        for page in _pages(len(reference), rows_per_page):
            params = {"ordering": ordering, "status": status, "role": role, "search": search}
            params.update(page=page, page_size=page_size)
            name = _name(plan, params)
            response = org.client.get("/api/v1/users/", params)
            expected = reference[(page - 1) * rows_per_page : page * rows_per_page]
            if not expected and page > 1:
                if response.status_code != 404:
                    failures.append(f"{name}: {response.status_code}, expected 404 past the end")
                continue
            if response.status_code != 200:
                failures.append(f"{name}: {response.status_code} {response.content[:120]!r}")
                continue
            body = response.json()
            if body["count"] != len(reference):
                failures.append(f"{name}: count {body['count']}, reference {len(reference)}")
            got = body["results"]
            want = [user_representation(row) for row in expected]
            if got != want:
                failures.append(f"{name}: ids {[u['id'] for u in got][:12]}, reference {[u['id'] for u in want][:12]}")
            if (body["next"] is None) != (page * rows_per_page >= len(reference)):
                failures.append(f"{name}: next={body['next']!r}")
            if (body["previous"] is None) != (page == 1):
                failures.append(f"{name}: previous={body['previous']!r}")
    return failures


@pytest.mark.parametrize("ordering", selectors.ORDERINGS)
def test_every_page_of_every_filter_is_the_reference(org, ordering):
    # The page sizes rotate with the ordering too, so each filter meets several sizes.
    offset = selectors.ORDERINGS.index(ordering)
    failures = _check_list(org, ordering=ordering, plan="default", searches=SEARCH_KINDS, offset=offset)
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("ordering", selectors.ORDERINGS)
def test_searches_paged_along_the_ordering_index_are_the_reference(org, ordering, dense_search_plan):
    offset = selectors.ORDERINGS.index(ordering) + 2
    # The plan only differs for a search that matches someone (nobody matching is the sparse plan).
    searches = ("one", "many")
    failures = _check_list(org, ordering=ordering, plan="dense", searches=searches, offset=offset)
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:40])


def test_counts_are_the_reference_tally(org):
    failures = []
    for role, search_kind in itertools.product(ROLES, SEARCH_KINDS):
        params = {"role": role, "search": org.searches[search_kind]}
        # The counts ignore ``status`` (they are what the status chips show); it must not change them.
        for status in ("", "deactivated"):
            response = org.client.get("/api/v1/users/counts/", {**params, "status": status})
            name = _name("counts", {**params, "status": status})
            if response.status_code != 200:
                failures.append(f"{name}: {response.status_code} {response.content[:120]!r}")
                continue
            tally = Counter(row["status"] for row in org.reference(**params))
            expected = {status.value: tally[status.value] for status in Status} | {"total": tally.total()}
            if response.json() != expected:
                failures.append(f"{name}: {response.json()}, reference {expected}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)


def _utc(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv_line(row: dict) -> list[str]:
    """A reference row as the export writes it (empty cells for nulls, formulas neutralized)."""

    def text(value):
        return neutralize_formula(value) or ""

    return [
        text(row["username"]),
        text(row["name"]),
        text(row["email"]),
        row["role"],
        row["status"],
        _utc(row["last_active"]),
        _utc(row["created_at"]),
        str(row["days_active"]),
        text(row["invited_by_email"]),
        _utc(row["deactivated_at"]),
    ]


@pytest.mark.parametrize("ordering", selectors.ORDERINGS)
def test_the_export_is_the_reference_row_for_row(org, ordering):
    failures = []
    for status, role, search_kind in itertools.product(STATUS_FILTERS, ROLES, SEARCH_KINDS):
        params = {"ordering": ordering, "status": status, "role": role, "search": org.searches[search_kind]}
        name = _name("export", params)
        response = org.client.get("/api/v1/users/export.csv", params)
        if response.status_code != 200:
            failures.append(f"{name}: {response.status_code} {response.content[:120]!r}")
            continue
        header, *lines = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
        reference = org.reference(search=params["search"], statuses=_statuses(status), role=role, ordering=ordering)
        if ",".join(header) != CSV_HEADER:
            failures.append(f"{name}: header {header}")
        if lines != [_csv_line(row) for row in reference]:
            emails = [row["email"] for row in reference]
            failures.append(f"{name}: e-mails {[line[2] for line in lines][:8]}, reference {emails[:8]}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("plan", ["sparse", "dense"])
def test_search_terms_with_wildcards_and_case_are_the_reference(org, plan, monkeypatch):
    """``%`` and ``_`` match only themselves, case never matters, and a name differing only by case
    sorts by id; under every ordering."""
    if plan == "dense":
        monkeypatch.setattr(selectors, "SPARSE_MATCHES", 0)
    failures = []
    for ordering, search in itertools.product(selectors.ORDERINGS, ("%", "_s", "100% s", "zoe case", "ZOE")):
        params = {"ordering": ordering, "search": search, "page_size": 500}
        response = org.client.get("/api/v1/users/", params)
        reference = org.reference(search=search, ordering=ordering)
        got = [user["id"] for user in response.json()["results"]] if response.status_code == 200 else response
        if got != [row["id"] for row in reference]:
            failures.append(f"{_name(plan, params)}: {got}, reference {[row['id'] for row in reference]}")
    assert not failures, "\n".join(failures)
    assert org.reference(search="%") and org.reference(search="zoe case")  # the terms do match someone
