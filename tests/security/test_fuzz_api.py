"""Schemathesis fuzzes every operation of the published OpenAPI schema, then chains them statefully.

The schema declares the inputs' enums and bounds (``status`` as a comma-separated list of codes,
``ordering``, ``role``, ``period``, ``page`` >= 1, ``page_size`` 1-500), so generated requests
reach the code behind validation instead of bouncing off it as 400s. For each operation:
hundreds of valid examples (positive) and a share of invalid ones (negative), then the stateful
phase (links inferred from the schema: an invite's id goes on to resend, cancel, deactivate ...).
The checks: no 5xx, every response body matches the schema, every status code and content type
is one the schema documents.

The run is seeded: the seed is printed, and ``ORGDASH_FUZZ_SEED=<seed>`` replays it.
``ORGDASH_FUZZ_EXAMPLES`` sets the valid examples per operation (default 200), and
``ORGDASH_FUZZ_ONLY="GET /api/v1/users/"`` fuzzes only the operations whose "METHOD path" holds it.

It runs on an org of its own (created for this module, dropped after it), as an admin with an API
key, inside the test's transaction: everything it writes is rolled back, and acme and globex are
never touched. The fuzzing admin keeps its role and state between examples (a generated id may hit
it), and a second admin means the last-admin rule never masks a path.
"""

import datetime as dt
import os
import random

import pytest
import schemathesis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Membership, Role
from accounts.selectors import ORDERINGS
from accounts.services import api_key_create, invite_create
from activity.periods import PERIODS
from orgdash.core.services import organization_create
from tests.conftest import host_of
from tests.factories import make_member, make_user
from tests.security.conftest import forget_cache_keys

FUZZ_ORG = "fuzz-lab"
BASE_URL = f"http://{host_of(FUZZ_ORG)}"
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
SEED = int(os.environ.get("ORGDASH_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
# Valid examples per operation; invalid ones (wrong types, out-of-range values, missing fields)
# must answer 4xx, never 5xx.
POSITIVE_EXAMPLES = int(os.environ.get("ORGDASH_FUZZ_EXAMPLES", "200"))
NEGATIVE_EXAMPLES = max(POSITIVE_EXAMPLES // 2, 1)
STATEFUL_SCENARIOS = max(POSITIVE_EXAMPLES // 2, 1)
STATEFUL_STEPS = 8
# Replaying one operation: ORGDASH_FUZZ_ONLY="GET /api/v1/users/" (a substring of "METHOD path").
ONLY = os.environ.get("ORGDASH_FUZZ_ONLY", "")
REPLAY = f"replay with ORGDASH_FUZZ_SEED={SEED}"

# Dates and times (``since``/``until``, events' timestamps) drawn often from the calendar's first
# and last days, with offsets that carry them past its ends once moved to UTC: day arithmetic and
# time-zone conversion overflow there, and a uniform draw almost never lands on them.
CALENDAR_EDGES = [dt.date.min, dt.date.min + dt.timedelta(days=1), dt.date.max - dt.timedelta(days=1), dt.date.max]
dates = st.one_of(st.sampled_from(CALENDAR_EDGES), st.dates())
offsets = st.sampled_from(["Z", "+00:00", "-00:00", "+01:00", "-05:00", "+14:00", "-12:00", "+23:59", "-23:59"])
times = st.one_of(st.sampled_from([dt.time.min, dt.time.max]), st.times())
schemathesis.openapi.format("date", dates.map(dt.date.isoformat))
schemathesis.openapi.format("date-time", st.builds("{}T{}{}".format, dates, times, offsets))


@pytest.fixture(scope="module")
def fuzz_org(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization = organization_create(slug=FUZZ_ORG, name="Fuzz Lab")
    yield organization
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        forget_cache_keys(organization.schema_name)


@pytest.fixture
def fuzz_admin(fuzz_org, db):
    """A dedicated admin with an API key, a second admin, and some members and invites to hit
    (all in the test's transaction)."""
    connection.set_tenant(fuzz_org)
    admin = make_member(role=Role.ADMIN, user=make_user(email="fuzz-admin@fuzz-lab.test"))
    make_member(role=Role.ADMIN, user=make_user(email="fuzz-second-admin@fuzz-lab.test"))
    for n in range(3):
        make_member(role=Role.MEMBER, user=make_user(email=f"fuzz-member{n}@fuzz-lab.test"))
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


@pytest.fixture
def announce_seed(capsys):
    with capsys.disabled():
        print(f"\nAPI fuzzing: seed {SEED} ({REPLAY}), {POSITIVE_EXAMPLES} valid examples per operation")


def _keep_the_fuzzing_admin(admin: Membership, organization) -> None:
    connection.set_tenant(organization)
    Membership.objects.filter(pk=admin.pk).update(role=Role.ADMIN, state=Membership.State.JOINED)
    connection.set_schema_to_public()


def _keep_the_host(case) -> None:
    """Negative cases may carry arbitrary extra headers; a generated ``Host`` would address another
    (unknown) org, which answers 404 by the contract's host rule (tests/security/test_isolation_matrix.py),
    not this operation."""
    if case.headers:
        case.headers = {name: value for name, value in case.headers.items() if name.lower() != "host"}


def _hypothesis_settings(examples: int, phases=(Phase.explicit, Phase.generate)):
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=list(phases),  # report the first failure as found, unshrunk
    )


def _fuzz(operation, *, admin, secret, organization, mode: GenerationMode, examples: int) -> None:
    # Schemathesis' pytest plugin (``from_fixture``) does not run under pytest 9 (it reads a node
    # attribute pytest removed), so each operation's strategy is driven by Hypothesis here.
    @seed(SEED)
    @_hypothesis_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        _keep_the_fuzzing_admin(admin, organization)
        _keep_the_host(case)
        case.call_and_validate(base_url=BASE_URL, headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

    run()


def _describe(error: BaseException) -> str:
    parts = [str(error)]
    for sub in getattr(error, "exceptions", ()):
        parts.append(f"  - {type(sub).__name__}: {sub}")
    return "\n".join(parts)[:3000]


def test_every_operation_answers_within_its_schema(api_schema, fuzz_admin, fuzz_org, announce_seed):
    admin, secret = fuzz_admin
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if ONLY not in f"{operation.method.upper()} {operation.path}":
            continue
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            try:
                _fuzz(operation, admin=admin, secret=secret, organization=fuzz_org, mode=mode, examples=examples)
            except (Exception, BaseExceptionGroup) as error:  # every operation's failure, reported together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}):\n{_describe(error)}")
    assert operations >= 15
    assert not failures, f"{len(failures)} of {operations} operations failed ({REPLAY}):\n\n" + "\n\n".join(failures)


def test_chained_operations_answer_within_the_schema(api_schema, fuzz_admin, fuzz_org, announce_seed):
    """The stateful phase: ids from one answer feed the next request (links inferred from the schema)."""
    admin, secret = fuzz_admin
    machine = api_schema.as_state_machine()
    assert api_schema.statistic.transitions.total > 0, "no links between operations: the stateful phase would be empty"

    @seed(SEED)
    class Chains(machine):
        # Each scenario starts from the same rows and its writes are undone after it: a scenario
        # that Hypothesis runs again must meet the answers (and so the links) it met before.
        def setup(self):
            self.savepoint = transaction.savepoint()
            _keep_the_fuzzing_admin(admin, fuzz_org)

        def teardown(self):
            connection.set_schema_to_public()
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case):
            _keep_the_fuzzing_admin(admin, fuzz_org)
            _keep_the_host(case)

        def get_call_kwargs(self, case):
            return {"base_url": BASE_URL, "headers": {"Authorization": f"Bearer {secret}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    settings_ = hypothesis_settings(
        _hypothesis_settings(STATEFUL_SCENARIOS, phases=(Phase.generate,)), stateful_step_count=STATEFUL_STEPS
    )
    try:
        Chains.run(settings=settings_)
    except (Exception, BaseExceptionGroup) as error:
        pytest.fail(f"stateful fuzzing failed ({REPLAY}):\n{_describe(error)}")


def test_the_schema_covers_the_contract(api_schema):
    """The fuzzer only reaches what the schema publishes: the contract's endpoints must be there."""
    paths = set(api_schema.raw_schema["paths"])
    for path in (
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/users/{id}/deactivate/",
        "/api/v1/users/{id}/reactivate/",
        "/api/v1/users/counts/",
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


def _parameter(schema: dict, path: str, name: str) -> dict:
    (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return parameter["schema"]


def _accepts(parameter: dict, value) -> bool:
    return any(Draft202012Validator(alternative).is_valid(value) for alternative in parameter.get("oneOf", [parameter]))


def test_the_schema_declares_enums_and_bounds(api_schema):
    """Without them the fuzzer's valid examples are mostly 400s and never reach the code behind."""
    schema = api_schema.raw_schema
    for path in ("/api/v1/users/", "/api/v1/users/export.csv", "/api/v1/users/counts/"):
        status = _parameter(schema, path, "status")
        for value in ("active", "invite_pending,deactivated", "inactive,active,inactive", ""):
            assert _accepts(status, value), (path, value)
        for value in ("Active", "active,", "active;inactive", "pending", "active, inactive"):
            assert not _accepts(status, value), (path, value)
        assert set(_parameter(schema, path, "role")["enum"]) >= set(Role.values)
    for path in ("/api/v1/users/", "/api/v1/users/export.csv"):
        assert set(_parameter(schema, path, "ordering")["enum"]) >= set(ORDERINGS)
    page, page_size = (_parameter(schema, "/api/v1/users/", name) for name in ("page", "page_size"))
    assert page["minimum"] == 1 and "maximum" not in page
    assert (page_size["minimum"], page_size["maximum"]) == (1, 500)
    for path in ("/api/v1/activity/summary/", "/api/v1/activity/timeseries/"):
        assert set(_parameter(schema, path, "period")["enum"]) == set(PERIODS)
