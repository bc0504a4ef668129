"""Every org request stays in its own schema (plus the shared public tables): the property that
lets each org schema live on one node of a schema-sharded cluster (Citus schema-based sharding,
docs/scaling.md). A query naming another org's schema would need a cross-node query there."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgdash.core.models import Organization
from orgdash.core.schemas import template_schema_name
from tests.conftest import login

pytestmark = pytest.mark.django_db

EVENT = {"user": "admin@acme.test", "kind": "sdk", "timestamp": "2026-01-02T10:00:00Z"}
REQUESTS = [
    ("get", "/org/dashboard/", None),
    ("get", "/org/dashboard/activity/", None),
    ("get", "/org/dashboard/audit/", None),
    ("get", "/api/v1/users/?ordering=-last_active&status=active,inactive", None),
    ("get", "/api/v1/users/?search=admin", None),
    ("get", "/api/v1/users/counts/", None),
    ("get", "/api/v1/users/export.csv", None),
    ("get", "/api/v1/activity/summary/?period=30d", None),
    ("get", "/api/v1/activity/timeseries/?period=3m", None),
    ("get", "/api/v1/api-keys/", None),
    ("post", "/api/v1/runs/", {"project": "vision", "name": "locality"}),
    ("post", "/api/v1/activity/events/", {"events": [EVENT]}),
    ("post", "/api/v1/invites/", {"emails": ["locality@example.test"], "role": "viewer"}),
]  # fmt: skip


def _other_schemas(own: str) -> set[str]:
    names = set(Organization.objects.values_list("schema_name", flat=True)) | {template_schema_name()}
    return names - {own, "public"}


def test_org_requests_name_no_other_schema(acme, acme_client):
    others = _other_schemas(acme.schema_name)
    assert others, "the suite's instance has other orgs (globex at least)"
    naming = re.compile(r'(?<![\w"])"?(' + "|".join(map(re.escape, sorted(others))) + r')"?\.')
    login(acme_client, "admin@acme.test")
    with CaptureQueriesContext(connection) as queries:
        for method, path, body in REQUESTS:
            if method == "get":
                response = acme_client.get(path)
            else:
                response = acme_client.post(path, json.dumps(body), content_type="application/json")
            assert response.status_code < 400, (path, response.status_code)
    assert len(queries.captured_queries) > len(REQUESTS)
    offending = [q["sql"][:200] for q in queries.captured_queries if naming.search(q["sql"])]
    assert offending == []
