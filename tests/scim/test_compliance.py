"""The independent compliance run: scim2-tester checks the live server with a real SCIM token.

Every check it makes must pass; a check the tester itself reports as skipped (a feature the server
says it does not offer) is listed in the report with the RFC section that makes it optional.
"""

import uuid

import pytest
from django.db import connection
from scim2_tester import Status, check_server

from accounts.services import scim_token_rotate
from orgdash.core.services import organization_create
from tests.conftest import host_of
from tests.e2e.conftest import live_server_port  # noqa: F401  (the live server fixture)
from tests.scim.live import LiveScimClient

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


@pytest.fixture
def live_scim(committed, live_server_port):  # noqa: F811
    """An org of its own (the tester lists every user, and the shared orgs' ``.test`` addresses are
    reserved names its e-mail validation refuses), removed afterwards."""
    organization = organization_create(slug=f"scimcheck{uuid.uuid4().hex[:8]}", name="SCIM compliance")
    connection.set_tenant(organization)
    _, secret = scim_token_rotate(label="compliance run")
    connection.set_schema_to_public()
    yield LiveScimClient(port=live_server_port, host=host_of(organization.slug), token=secret)
    connection.set_schema_to_public()
    organization.delete(force_drop=True)


def test_scim2_tester_finds_nothing_to_fault(live_scim):
    results = check_server(live_scim)
    for result in results:
        print(f"{result.status.name:10} {result.title}: {result.reason or ''}")
    assert len(results) > 20  # discovery, misc, and the CRUD and PATCH checks of User all ran
    failures = [
        f"{r.title} [{r.status.name}]: {r.reason}" for r in results if r.status not in PASSED | {Status.SKIPPED}
    ]
    assert not failures, "\n".join(failures)
    checked = {r.title for r in results if r.status in PASSED}
    for title in ("object_creation", "object_query", "object_replacement", "object_deletion"):
        assert title in checked, f"{title} did not run"
