"""The OpenAPI schema describes what the accounts endpoints really return."""

import json

from drf_spectacular.validation import validate_schema

from tests.factories import make_pending_invite

USER_FIELDS = {
    "id",
    "username",
    "name",
    "email",
    "role",
    "status",
    "status_label",
    "last_active",
    "added",
    "days_active",
    "invited_by",
    "deactivated_at",
    "invite",
}


def _schema(client):
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_valid_openapi_and_lists_every_endpoint(acme_client):
    schema = _schema(acme_client)
    validate_schema(schema)
    paths = schema["paths"]
    expected = {
        "/api/v1/users/": {"get"},
        "/api/v1/users/counts/": {"get"},
        "/api/v1/users/export.csv": {"get"},
        "/api/v1/users/{id}/": {"get", "patch"},
        "/api/v1/users/{id}/deactivate/": {"post"},
        "/api/v1/users/{id}/reactivate/": {"post"},
        "/api/v1/invites/": {"post"},
        "/api/v1/invites/{id}/": {"delete"},
        "/api/v1/invites/{id}/resend/": {"post"},
        "/api/v1/api-keys/": {"get", "post"},
        "/api/v1/api-keys/{id}/": {"delete"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert "text/csv" in paths["/api/v1/users/export.csv"]["get"]["responses"]["200"]["content"]
    assert "409" in paths["/api/v1/users/{id}/"]["patch"]["responses"]


def test_user_component_matches_a_real_response(admin_client, in_acme):
    schema = _schema(admin_client)
    component = schema["components"]["schemas"]["User"]
    assert set(component["properties"]) == USER_FIELDS
    nullable = {name for name, spec in component["properties"].items() if spec.get("nullable")}
    assert nullable == {"username", "name", "last_active", "invited_by", "deactivated_at", "invite"}
    invite = make_pending_invite()
    body = admin_client.get(f"/api/v1/users/{invite.pk}/").json()
    assert set(body) == USER_FIELDS
    page = schema["components"]["schemas"]["UserPage"]
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    listed = admin_client.get("/api/v1/users/").json()
    assert set(listed) == set(page["properties"])
    assert set(schema["components"]["schemas"]["InviteResult"]["properties"]) == {"invited", "skipped"}
