"""Request sequences as Okta and Microsoft Entra ID send them, end to end: provision, update,
deactivate (the person's session and keys stop working, the Users list shows Deactivated),
reactivate. Payloads follow the providers' published SCIM examples."""

import re
from urllib.parse import quote

import pytest
from django.test import Client

from tests.accounts.conftest import bearer, key_for
from tests.conftest import PASSWORD, host_of, login
from tests.factories import make_user
from tests.scim.conftest import PATCH_SCHEMA, USER_SCHEMA, sent_to

pytestmark = pytest.mark.django_db
LINK = re.compile(r"/invite/([A-Za-z0-9_-]+)/")
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def users_list_row(admin: Client, email: str) -> dict:
    """The person's row in the Users list, as the dashboard reads it."""
    [row] = admin.get(f"/api/v1/users/?search={quote(email)}").json()["results"]
    return row


@pytest.fixture
def admin(acme):
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, "admin@acme.test").status_code == 302
    return client


def test_okta_sequence(scim, acme, admin):
    make_user(email="isabel.okta@example.com", password=PASSWORD, name="Isabel")
    user_name = "isabel.okta@example.com"

    # 1. Okta looks the person up before creating them.
    expression = quote(f'userName eq "{user_name}"')
    lookup = scim.get(f"Users?filter={expression}&startIndex=1&count=100")
    assert lookup.status_code == 200 and lookup.json_body["totalResults"] == 0

    # 2. Create, with the attributes Okta's SCIM 2.0 app sends (password and groups included).
    created = scim.post(
        "Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": "Isabel", "familyName": "Okta"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": "Isabel Okta",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    assert created.status_code == 201, created.content
    user = created.json_body
    assert user["active"] is True and user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "password" not in user and "groups" not in user
    assert users_list_row(admin, user_name)["status_label"] == "Active"  # an existing account joins at once

    # The person works in orgdash with a session and a key.
    session = Client(HTTP_HOST=host_of("acme"))
    assert login(session, user_name).status_code == 302
    key = key_for(acme, user_name)
    api = Client(HTTP_HOST=host_of("acme"))
    assert api.get("/api/v1/api-keys/", **bearer(key)).status_code == 200

    # 3. Okta reads the user back, then 4. pushes a profile change as a PUT of the whole resource.
    fetched = scim.get(f"Users/{user['id']}").json_body
    fetched["name"]["familyName"] = "Okta-Smith"
    fetched["roles"] = [{"value": "viewer", "primary": True}]
    replaced = scim.put(f"Users/{user['id']}", fetched)
    assert replaced.status_code == 200, replaced.content
    assert replaced.json_body["name"]["familyName"] == "Okta-Smith"
    assert users_list_row(admin, user_name)["role"] == "viewer"

    # 5. Unassigned in Okta: PATCH replace of active.
    deactivated = scim.patch(
        f"Users/{user['id']}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert deactivated.status_code == 200 and deactivated.json_body["active"] is False
    assert api.get("/api/v1/api-keys/", **bearer(key)).status_code == 401
    assert session.get("/").status_code == 302  # the session no longer opens the org
    assert users_list_row(admin, user_name)["status_label"] == "Deactivated"

    # 6. Assigned again: reactivated, and they can log in again.
    reactivated = scim.patch(
        f"Users/{user['id']}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": True}}]},
    )
    assert reactivated.json_body["active"] is True
    assert users_list_row(admin, user_name)["status_label"] == "Active"
    assert login(Client(HTTP_HOST=host_of("acme")), user_name).status_code == 302


def test_entra_id_sequence(scim, acme, admin, eager_tasks, django_capture_on_commit_callbacks):
    email = "kai.entra@example.com"

    # 1. Entra ID matches on externalId (its objectId mapping), then on userName.
    for expression in ('externalId eq "9f3b1c2e-entra"', f'userName eq "{email}"'):
        response = scim.get(f"Users?filter={quote(expression)}")
        assert response.status_code == 200 and response.json_body["Resources"] == []

    # 2. Create, with its default attribute mappings (some of which orgdash does not keep).
    with django_capture_on_commit_callbacks(execute=True):
        created = scim.post(
            "Users",
            {
                "schemas": [USER_SCHEMA, ENTERPRISE],
                "externalId": "9f3b1c2e-entra",
                "userName": email,
                "active": True,
                "displayName": "Kai Entra",
                "title": "Engineer",
                "preferredLanguage": "en-GB",
                "emails": [{"primary": True, "type": "work", "value": email}],
                "name": {"formatted": "Kai Entra", "familyName": "Entra", "givenName": "Kai"},
                "phoneNumbers": [{"type": "work", "value": "+44 20 7946 0000"}],
                "addresses": [{"type": "work", "formatted": "1 Way", "country": "GB"}],
                ENTERPRISE: {"employeeNumber": "701984", "department": "Research"},
                "roles": [],
            },
        )
    assert created.status_code == 201, created.content
    user = created.json_body
    assert users_list_row(admin, email)["status"] == "invite_pending"

    # The person accepts the invite e-mail and starts working.
    token = LINK.search(sent_to(email)[0].body).group(1)
    joining = Client(HTTP_HOST=host_of("acme"))
    accepted = joining.post(f"/invite/{token}/", {"name": "Kai", "password1": PASSWORD, "password2": PASSWORD})
    assert accepted.status_code == 302, accepted.content
    assert users_list_row(admin, email)["status_label"] == "Active"
    session = Client(HTTP_HOST=host_of("acme"))
    assert login(session, email).status_code == 302
    key = key_for(acme, email)
    api = Client(HTTP_HOST=host_of("acme"))
    assert api.get("/api/v1/api-keys/", **bearer(key)).status_code == 200

    # 3. Updates: capitalised ops, a filtered e-mail path, booleans as strings, an added role.
    with django_capture_on_commit_callbacks(execute=True):
        updated = scim.patch(
            f"Users/{user['id']}",
            {
                "schemas": [PATCH_SCHEMA],
                "Operations": [
                    {"op": "Replace", "path": "displayName", "value": "Kai E."},
                    {"op": "Add", "path": "name.familyName", "value": "Entra-Lee"},
                    {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Platform"},
                    {"op": "Add", "path": "roles", "value": [{"primary": "False", "value": "admin"}]},
                ],
            },
        )
    assert updated.status_code == 200, updated.content
    assert updated.json_body["displayName"] == "Kai E." and updated.json_body["name"]["familyName"] == "Entra-Lee"
    assert users_list_row(admin, email)["role"] == "admin"

    # 4. Disabled or unassigned in Entra ID: "Replace" active with the string "False".
    disabled = scim.patch(
        f"Users/{user['id']}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert disabled.status_code == 200 and disabled.json_body["active"] is False
    assert api.get("/api/v1/api-keys/", **bearer(key)).status_code == 401
    assert session.get("/").status_code == 302
    assert users_list_row(admin, email)["status_label"] == "Deactivated"

    # 5. Enabled again.
    enabled = scim.patch(
        f"Users/{user['id']}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]},
    )
    assert enabled.json_body["active"] is True
    assert users_list_row(admin, email)["status_label"] == "Active"
    # Their old keys ended with the deprovisioning; a new one works.
    assert api.get("/api/v1/api-keys/", **bearer(key)).status_code == 401
    assert api.get("/api/v1/api-keys/", **bearer(key_for(acme, email))).status_code == 200
