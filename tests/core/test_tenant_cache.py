"""A host's org is cached in the process, so a request does not look its host up each time; a
change to an org or a domain empties the cache, and an unknown host is never cached."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orgdash.core.middleware import tenant_cache
from orgdash.core.models import Domain
from tests.accounts.conftest import bearer, key_for
from tests.conftest import host_of


@pytest.fixture
def cached(settings):
    settings.ORGDASH_TENANT_CACHE_SECONDS = 30
    tenant_cache.clear()
    yield
    tenant_cache.clear()


def _domain_lookups(client: Client, path: str = "/api/v1/users/") -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response.status_code, sum('"core_domain"' in query["sql"] for query in queries.captured_queries)


def test_a_host_is_looked_up_once_then_served_from_the_cache(cached, acme, acme_client):
    assert _domain_lookups(acme_client) == (401, 1)
    assert _domain_lookups(acme_client) == (401, 0)


def test_each_host_keeps_its_own_org(cached, acme, globex, acme_client, globex_client):
    _domain_lookups(acme_client)
    _domain_lookups(globex_client)
    for client, org in ((acme_client, acme), (globex_client, globex)):
        client.get("/api/v1/users/")
        assert connection.schema_name == org.schema_name


def test_a_changed_domain_is_looked_up_again(cached, acme, acme_client):
    _domain_lookups(acme_client)
    domain = Domain.objects.get(domain=host_of("acme"))
    domain.save()
    assert _domain_lookups(acme_client) == (401, 1)


def test_a_deleted_domain_answers_404_at_once(cached, acme, acme_client):
    _domain_lookups(acme_client)
    Domain.objects.filter(domain=host_of("acme")).first().delete()
    assert _domain_lookups(acme_client)[0] == 404


def test_an_unknown_host_is_never_cached(cached, db):
    client = Client(HTTP_HOST="nobody.localhost")
    assert _domain_lookups(client) == (404, 1)
    assert _domain_lookups(client) == (404, 1)


def test_without_a_ttl_every_request_looks_its_host_up(settings, acme, acme_client):
    settings.ORGDASH_TENANT_CACHE_SECONDS = 0
    assert _domain_lookups(acme_client) == (401, 1)
    assert _domain_lookups(acme_client) == (401, 1)


def _search_path_sets(client: Client, **headers) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/users/?page_size=50", **headers)
    sets = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SET search_path")]
    return response.status_code, sets


def _emails(client: Client, **headers) -> set[str]:
    response = client.get("/api/v1/users/?page_size=50", **headers)
    assert response.status_code == 200
    return {person["email"] for person in response.json()["results"]}


def test_a_connection_already_on_the_org_sends_no_search_path(cached, acme, globex, acme_client, globex_client):
    acme_key, globex_key = bearer(key_for(acme, "admin@acme.test")), bearer(key_for(globex, "admin@globex.test"))
    globex_client.get("/api/v1/users/", **globex_key)  # caches the hosts
    acme_client.get("/api/v1/users/", **acme_key)
    assert _search_path_sets(acme_client, **acme_key) == (200, [])
    # Another org's request switches the session to its own schema, and the next one back.
    assert _search_path_sets(globex_client, **globex_key) == (200, ['SET search_path = "globex","public"'])
    assert _search_path_sets(acme_client, **acme_key) == (200, ['SET search_path = "acme","public"'])
    assert _search_path_sets(acme_client, **acme_key) == (200, [])


def test_orgs_served_in_turn_on_one_connection_each_see_their_own_people(
    cached, acme, globex, acme_client, globex_client
):
    acme_key, globex_key = bearer(key_for(acme, "admin@acme.test")), bearer(key_for(globex, "admin@globex.test"))
    for _ in range(2):
        assert "admin@acme.test" in _emails(acme_client, **acme_key)
        assert "admin@acme.test" in _emails(acme_client, **acme_key)
        globex_people = _emails(globex_client, **globex_key)
        assert "admin@globex.test" in globex_people and not any(e.endswith("@acme.test") for e in globex_people)


def test_a_rolled_back_search_path_is_set_again(cached, acme, acme_client):
    acme_key = bearer(key_for(acme, "admin@acme.test"))
    acme_client.get("/api/v1/users/", **acme_key)
    assert _search_path_sets(acme_client, **acme_key) == (200, [])
    # A rollback may undo a SET made inside the transaction: the backend no longer trusts it.
    with pytest.raises(RuntimeError), transaction.atomic():
        connection.set_schema_to_public()
        Domain.objects.count()
        raise RuntimeError
    assert _search_path_sets(acme_client, **acme_key) == (200, ['SET search_path = "acme","public"'])
