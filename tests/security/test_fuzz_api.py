"""Schemathesis fuzzes every operation of the published OpenAPI schema on acme's host.

Authenticated as a dedicated acme admin (API key), so every admin endpoint is reached with
generated input. The checks: no 5xx, every response body matches the schema, and every status
code is one the schema documents. Writes (deactivate, cancel invite, ...) really run; they live in
the test's transaction and are rolled back. The fuzzing admin keeps its role and state between
examples (a generated id may hit it), and a second admin means the last-admin rule never masks a
path.
"""

import pytest
import schemathesis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Membership, Role
from accounts.services import api_key_create, invite_create
from tests.conftest import host_of
from tests.factories import make_member, make_user
from tests.security.conftest import forget_cache_keys

BASE_URL = f"http://{host_of('acme')}"
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# Per operation; about 20 operations, so the whole run stays well under a minute.
MAX_EXAMPLES = 25
# Invalid input (wrong types, missing fields, bad ids): must answer 4xx, never 5xx.
NEGATIVE_EXAMPLES = 15


@pytest.fixture
def fuzz_admin(acme):
    """A dedicated admin with an API key, a second admin, and some members and invites to hit."""
    connection.set_tenant(acme)
    admin = make_member(role=Role.ADMIN, user=make_user(email="fuzz-admin@acme.test"))
    make_member(role=Role.ADMIN, user=make_user(email="fuzz-second-admin@acme.test"))
    for _ in range(3):
        make_member(role=Role.MEMBER)
    invite_create(emails=[f"fuzz-invitee{n}@example.test" for n in range(3)], role=Role.VIEWER, actor=admin.user)
    _, secret = api_key_create(membership=admin, label="fuzz")
    connection.set_schema_to_public()
    return admin, secret


@pytest.fixture
def api_schema(fuzz_admin, settings):
    # Django's WSGI handler closes the connection after each request; the test's transaction must
    # survive, so the handler runs without that hook (as Django's own test client does).
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 1_000_000
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", WSGIHandler(), base_url=BASE_URL)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        connection.set_schema_to_public()
        forget_cache_keys("api-key-failures")


def _keep_the_fuzzing_admin(admin: Membership, acme) -> None:
    connection.set_tenant(acme)
    Membership.objects.filter(pk=admin.pk).update(role=Role.ADMIN, state=Membership.State.JOINED)
    connection.set_schema_to_public()


def _fuzz(operation, *, admin, secret, acme, mode: GenerationMode, examples: int) -> None:
    # Schemathesis' pytest plugin (``from_fixture``) does not run under pytest 9 (it reads a node
    # attribute pytest removed), so each operation's strategy is driven by Hypothesis here.
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: a failure reproduces
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # report the first failure as found, unshrunk
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        _keep_the_fuzzing_admin(admin, acme)
        case.call_and_validate(base_url=BASE_URL, headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

    run()


def _describe(error: BaseException) -> str:
    parts = [str(error)]
    for sub in getattr(error, "exceptions", ()):
        parts.append(f"  - {type(sub).__name__}: {sub}")
    return "\n".join(parts)[:3000]


def test_api_conforms_to_its_schema_and_never_fails(api_schema, fuzz_admin, acme):
    admin, secret = fuzz_admin
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in ((GenerationMode.POSITIVE, MAX_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
            try:
                _fuzz(operation, admin=admin, secret=secret, acme=acme, mode=mode, examples=examples)
            except (Exception, BaseExceptionGroup) as error:  # every operation's failure, reported together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}):\n{_describe(error)}")
    assert operations >= 15
    assert not failures, f"{len(failures)} of {operations} operations failed:\n\n" + "\n\n".join(failures)


def test_the_schema_covers_the_contract(api_schema):
    """The fuzzer only reaches what the schema publishes: the contract's endpoints must be there."""
    paths = set(api_schema.raw_schema["paths"])
    for path in (
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/users/{id}/deactivate/",
        "/api/v1/users/{id}/reactivate/",
        "/api/v1/users/export.csv",
        "/api/v1/invites/",
        "/api/v1/invites/{id}/",
        "/api/v1/invites/{id}/resend/",
        "/api/v1/activity/summary/",
        "/api/v1/activity/timeseries/",
        "/api/v1/activity/events/",
        "/api/v1/runs/",
        "/api/v1/audit/",
        "/api/v1/audit/export.csv",
    ):
        assert path.replace("{id}", "{pk}") in paths or path in paths, f"{path} is not in the schema"
    assert settings.SPECTACULAR_SETTINGS["SCHEMA_PATH_PREFIX"] == r"/api/v1"
