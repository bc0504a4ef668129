"""Support staff's org list and overview read only the public schema: the figures each org's
refresh keeps in ``OrganizationStats``, never a query in an org's schema."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orgdash.core.models import Organization, OrganizationStats
from orgdash.core.templatetags import admin_rows
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(public_client):
    public_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    return public_client


def _queries_naming_an_org_schema(queries) -> list[str]:
    schemas = set(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    named = re.compile(r'"?\b(' + "|".join(map(re.escape, schemas)) + r')\b"?\.')
    return [q["sql"] for q in queries if named.search(q["sql"]) or "accounts_membership" in q["sql"]]


def _figures(slug, **values):
    stats = OrganizationStats.objects.get(organization__slug=slug)
    for name, value in values.items():
        setattr(stats, name, value)
    stats.save()


def test_admin_org_list_shows_the_figures_and_reads_no_org_schema(staff_client):
    _figures("acme", members=4242, pending_invites=17, active_30d=4000, last_activity_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get("/admin/core/organization/", {"o": "-4"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "4242" in body and "Pending invites" in body and "Active (30 days)" in body
    assert _queries_naming_an_org_schema(queries.captured_queries) == []


def test_admin_org_list_costs_the_same_queries_with_more_orgs(staff_client, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as before:
        staff_client.get("/admin/core/organization/")
    for i in range(5):
        org = Organization(schema_name=f"adminlist_{i}", slug=f"adminlist-{i}", name=f"Listed {i}")
        org.auto_create_schema = False  # rows only: the list must not need their schemas
        org.save()
        OrganizationStats.objects.create(organization=org, members=i)
    with django_assert_max_num_queries(len(before.captured_queries)):
        response = staff_client.get("/admin/core/organization/")
    assert "Listed 4" in response.content.decode()


def test_overview_sorts_searches_and_reads_no_org_schema(staff_client):
    _figures("acme", members=900_001, active_30d=12, last_activity_at=timezone.now())
    _figures("globex", members=3, active_30d=1)
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get("/admin/core/organization/overview/", {"o": "-members"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Acme") < body.index("Globex"), "largest first"
    assert "over 10,000" in body
    assert _queries_naming_an_org_schema(queries.captured_queries) == []

    ascending = staff_client.get("/admin/core/organization/overview/", {"o": "members"}).content.decode()
    assert ascending.index("Globex") < ascending.index("Acme")

    found = staff_client.get("/admin/core/organization/overview/", {"q": "globex.", "o": "bogus"})
    assert found.status_code == 200
    assert "Globex" in found.content.decode() and ">Acme<" not in found.content.decode()


def test_overview_is_for_staff_only(public_client):
    response = public_client.get("/admin/core/organization/overview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_on_an_org_host_the_overview_shows_that_org_only(acme_client):
    acme_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    response = acme_client.get("/admin/core/organization/overview/")
    assert response.status_code == 200
    body = response.content.decode()
    assert ">Acme<" in body and "globex" not in body.lower()


@pytest.mark.parametrize("query", [{}, {"o": "-4"}, {"o": "7.-1", "q": "a"}, {"q": "acme"}, {"_popup": "1"}])
def test_admin_org_list_rows_are_the_html_django_admin_writes(staff_client, monkeypatch, query):
    # One org without a domain and without a last activity: the "-" cells.
    _figures("acme", members=4242, last_activity_at=timezone.now())
    Organization.objects.get(slug="globex").domains.all().delete()
    fast = staff_client.get("/admin/core/organization/", query).content.decode()
    monkeypatch.setattr(admin_rows, "_plain_columns", lambda cl: None)  # Django's own result_list
    general = staff_client.get("/admin/core/organization/", query).content.decode()

    def rows(page):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert rows(fast) == rows(general)
    assert 'class="field-name"' in fast and "/change/" in fast
