"""A host's org is cached in the process, so a request does not look its host up each time; a
change to an org or a domain empties the cache, and an unknown host is never cached."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orgdash.core.middleware import tenant_cache
from orgdash.core.models import Domain
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
