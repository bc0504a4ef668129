"""Odd input answers 4xx, never 5xx."""

import pytest


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/users/99999999999999999999999/", None),
        ("post", "/api/v1/users/99999999999999999999999/deactivate/", None),
        ("post", "/api/v1/invites/99999999999999999999999/resend/", None),
        ("delete", "/api/v1/api-keys/99999999999999999999999/", None),
        ("get", "/api/v1/users/?search=%00", None),
        ("get", "/api/v1/users/?page=99999999999999999999999", None),
        ("get", "/api/v1/users/?page=99999999999999999999999&ordering=status", None),
        ("post", "/api/v1/invites/", '{"emails": ["a\\u0000@example.test"]}'),
        ("post", "/api/v1/invites/", '{"emails": [{"nested": 1}]}'),
        ("post", "/api/v1/invites/", "not json"),
        ("patch", "/api/v1/users/1/", '{"role": ["admin"]}'),
    ],
)
def test_hostile_input_is_refused_cleanly(admin_client, method, url, body):
    response = getattr(admin_client, method)(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["detail"]


def test_hostile_invite_tokens(acme_client):
    for token in ("%00", "a" * 5000, "..%2F..%2Fetc"):
        assert acme_client.get(f"/invite/{token}/").status_code == 404
