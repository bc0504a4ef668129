"""The API-key lookup is prepared once per connection (orgdash.core.prepared). A migration that
changes the type of a column it reads, run by another session one org at a time while the web
tier serves, must not turn the requests of a connection that prepared it into errors."""

import psycopg
import pytest
from django.db import connection
from django.test import Client

from accounts.models import ApiKey, Membership
from accounts.services import api_key_create
from orgdash.core.models import Organization
from tests.accounts.conftest import bearer
from tests.conftest import host_of
from tooling.benchmark.keys import temporary_keys_discard

LABEL_TYPE = "varchar(100)"  # accounts.ApiKey.label as the migrations make it


def alter_label(schema: str, column_type: str) -> None:
    """Changes the column from a session of its own, as ``migrate_schemas`` would."""
    params = connection.get_connection_params()
    for option in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(option, None)
    with psycopg.connect(**params, autocommit=True) as migration:
        migration.execute("SET lock_timeout = '10s'")  # fail rather than wait on a session holding the table
        migration.execute(f'ALTER TABLE "{schema}".accounts_apikey ALTER COLUMN label TYPE {column_type}')


@pytest.fixture
def committed_key(django_db_setup, django_db_blocker):
    """A committed API key of acme's admin, outside any test transaction (the lookup's error
    would abort one), removed afterwards with the column put back."""
    with django_db_blocker.unblock():
        acme = Organization.objects.get(slug="acme")
        connection.set_tenant(acme)
        api_key, secret = api_key_create(membership=Membership.objects.get(email="admin@acme.test"), label="deploy")
        connection.set_schema_to_public()
        try:
            yield acme, secret
        finally:
            alter_label(acme.schema_name, LABEL_TYPE)
            connection.set_tenant(acme)
            temporary_keys_discard(ApiKey.objects.filter(pk=api_key.pk))
            connection.set_schema_to_public()
            connection.close()  # the lookup prepared against the altered column stays with the session


def test_a_column_type_changed_under_the_prepared_lookup_is_read_again(committed_key, settings):
    settings.ORGDASH_ACTIVITY_RECORDING = False  # the admin's requests commit: they must leave no activity
    acme, secret = committed_key
    client = Client(HTTP_HOST=host_of("acme"))
    for _ in range(3):
        assert client.get("/api/v1/users/?page_size=1", **bearer(secret)).status_code == 200
    alter_label(acme.schema_name, "varchar(120)")

    for _ in range(3):
        response = client.get("/api/v1/users/?page_size=1", **bearer(secret))
        assert response.status_code == 200, response.content[:300]
    assert client.get("/api/v1/users/?page_size=1", **bearer("not-a-key")).status_code == 401
