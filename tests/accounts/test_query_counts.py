"""The Users endpoints send a fixed number of SQL statements, whatever the page size or the org's size
(no N+1), and the list's fast paths give the same rows in the same order as the plain query."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.api.serializers import UserOutputSerializer
from accounts.models import Membership
from tests.factories import make_member, make_pending_invite

STATEMENTS = []
ORDERINGS = ("-last_active", "status", "-status", "name", "-email", "added")


def _add_people(count: int, tag: str) -> None:
    """``count`` rows of every status, e-mails containing ``tag``."""
    now = timezone.now()
    Membership.objects.bulk_create(
        Membership(email=f"{tag}-invite{i}@queries.test", state=Membership.State.INVITED) for i in range(count)
    )
    for i in range(count):
        make_member(email=f"{tag}-active{i}@queries.test", last_active=now - timedelta(days=i), days_active=i)
        make_member(
            email=f"{tag}-stale{i}@queries.test",
            last_active=now - timedelta(days=400),
            created_at=now - timedelta(days=500),
        )
        make_member(email=f"{tag}-gone{i}@queries.test", state=Membership.State.DEACTIVATED)


def _statements(client, path: str, params: dict) -> tuple[int, object]:
    """SQL statements one request sends (Django's and psycopg COPYs), and its response (a streamed
    body is read inside the count and kept as ``response.body``)."""
    copies = []
    original_copy = psycopg.Cursor.copy

    def counting_copy(cursor, statement, *args, **kwargs):
        copies.append(statement)
        return original_copy(cursor, statement, *args, **kwargs)

    psycopg.Cursor.copy = counting_copy
    try:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, params)
            if response.streaming:
                response.body = b"".join(response.streaming_content)
    finally:
        psycopg.Cursor.copy = original_copy
    assert response.status_code == 200, response.content
    # Activity recording writes at most once per user per day; only reads are the endpoint's own.
    STATEMENTS[:] = [q["sql"][:120] for q in captured.captured_queries] + [str(c)[:120] for c in copies]
    response.copies = len(copies)
    reads = [q for q in captured.captured_queries if q["sql"].lstrip("(").startswith(("SELECT", "SET"))]
    return len(reads) + len(copies), response


@pytest.mark.parametrize("search", ["", "queries.test"])
@pytest.mark.parametrize("ordering", ORDERINGS)
def test_list_statements_do_not_grow_with_page_size(admin_client, in_acme, ordering, search):
    _add_people(15, "q")
    params = {"search": search, "ordering": ordering}
    _statements(admin_client, "/api/v1/users/", {**params, "page_size": 1})  # warm-up: first request of the day
    small, small_response = _statements(admin_client, "/api/v1/users/", {**params, "page_size": 2})
    large, large_response = _statements(admin_client, "/api/v1/users/", {**params, "page_size": 60})
    assert len(small_response.json()["results"]) == 2 and len(large_response.json()["results"]) == 60
    assert small == large, STATEMENTS
    # Two schema switches, the tenant's domain, the session, the member, the count and the page.
    assert large <= 7, STATEMENTS


def test_counts_and_export_statements_do_not_grow_with_the_org(admin_client, in_acme):
    _add_people(2, "few")
    _statements(admin_client, "/api/v1/users/counts/", {})  # warm-up
    before = {
        "counts": _statements(admin_client, "/api/v1/users/counts/", {"search": "queries.test"}),
        "export": _statements(admin_client, "/api/v1/users/export.csv", {"search": "queries.test"}),
    }
    _add_people(20, "many")
    after = {
        "counts": _statements(admin_client, "/api/v1/users/counts/", {"search": "queries.test"}),
        "export": _statements(admin_client, "/api/v1/users/export.csv", {"search": "queries.test"}),
    }
    assert before["counts"][1].json()["total"] == 4 * 2 and after["counts"][1].json()["total"] == 4 * 22
    assert before["counts"][0] == after["counts"][0]
    export = after["export"][1]
    assert export.copies == 1 and len(export.body.decode().splitlines()) == 1 + 4 * 22
    assert before["export"][0] == after["export"][0]


def test_users_tab_page_does_no_per_member_work(admin_client, in_acme):
    def page_statements():
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get("/org/dashboard/")
        assert response.status_code == 200
        return len([q for q in captured.captured_queries if q["sql"].startswith("SELECT")])

    page_statements()
    few = page_statements()
    _add_people(10, "page")
    assert page_statements() == few
    assert few <= 4  # the session's user and membership; the rows come from the API afterwards


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_sparse_and_dense_search_paths_agree(admin_client, in_acme, monkeypatch, ordering):
    """A search is paged by sorting its matches or by walking an index, depending on how many
    there are; both give the same rows in the same order on every page."""
    _add_people(8, "same")
    make_pending_invite(email="=same-formula@queries.test")

    def all_pages(sparse_limit: int) -> list[int]:
        monkeypatch.setattr(selectors, "SPARSE_MATCHES", sparse_limit)
        ids, page = [], 1
        while True:
            params = {"search": "SAME-", "ordering": ordering, "page_size": 5, "page": page}
            body = admin_client.get("/api/v1/users/", params).json()
            ids += [row["id"] for row in body["results"]]
            if not body["next"]:
                return ids
            page += 1

    sorted_matches = all_pages(sparse_limit=10_000)
    index_walk = all_pages(sparse_limit=0)
    assert len(sorted_matches) == 4 * 8 + 1
    assert sorted_matches == index_walk


def test_list_rows_are_the_user_objects_of_the_detail_endpoint(admin_client, in_acme):
    """The list writes its rows without DRF's serializer; they must equal the serializer's output."""
    _add_people(3, "shape")
    make_pending_invite(email="shape-pending@queries.test")
    listed = admin_client.get("/api/v1/users/", {"search": "shape-", "page_size": 100}).json()["results"]
    assert len(listed) == 4 * 3 + 1
    for row in listed:
        assert row == UserOutputSerializer(selectors.membership_get(pk=row["id"])).data
        assert row == admin_client.get(f"/api/v1/users/{row['id']}/").json()


def test_search_matches_within_one_column_only(admin_client, in_acme):
    """Search runs on the joined, upper-cased ``search_text``; a term never matches across two columns."""
    jane = make_member(email="jane@span.test", username="jdoe-span", name="Jane Zeta")
    pending = make_pending_invite(email="pending@span.test")  # null username and name

    def found(term: str) -> set[int]:
        rows = admin_client.get("/api/v1/users/", {"search": term, "page_size": 500}).json()["results"]
        return {row["id"] for row in rows}

    assert found("jdoe-SPAN") == {jane.pk}  # username, any case
    assert found("ane zet") == {jane.pk}  # name
    assert found("pending@span") == {pending.pk}  # an invite's e-mail
    assert found("@span.test") == {jane.pk, pending.pk}
    assert found("span.testjdoe") == set() and found("span.test\njdoe") == set()  # e-mail end + username start
    assert found("span-Jane") == set()  # username end + name start
    assert admin_client.get("/api/v1/users/counts/", {"search": "span.test"}).json()["total"] == 2
