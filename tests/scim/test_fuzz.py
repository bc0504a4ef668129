"""Hypothesis fuzzes the SCIM routes with the org's token: filters built from SCIM's grammar and
from noise, User bodies with wrong types and unknown attributes, PATCH operations in Okta's and
Entra's spellings and made-up ones, odd ids, paging values and oversized or non-JSON bodies.

Every answer is below 500, and every 4xx is a SCIM Error (``"status"`` the code as a string).
"""

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scim.conftest import PATCH_SCHEMA, SCIM, USER_SCHEMA

pytestmark = pytest.mark.django_db
EXAMPLES = 400
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

ATTRIBUTES = [
    "userName",
    "externalId",
    "emails",
    "emails.value",
    "emails.type",
    "active",
    "id",
    "name.givenName",
    "displayName",
    "title",
    "roles",
    "roles.value",
    "meta.created",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "nosuch",
    'emails[type eq "work"].value',
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "Eq", "xx"]
text = st.text(max_size=40)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
literals = st.one_of(
    st.sampled_from(['"admin@acme.test"', "true", "false", "null", '"True"', "3", '"x"', '"a\\"b"']),
    text.map(json.dumps),
)
comparison = st.builds(
    lambda a, o, v: f"{a} {o} {v}", st.sampled_from(ATTRIBUTES), st.sampled_from(OPERATORS), literals
)
filters = st.one_of(
    st.recursive(
        comparison,
        lambda inner: st.one_of(
            st.builds(lambda a, b, j: f"{a} {j} {b}", inner, inner, st.sampled_from(["and", "or", "AND", "xor"])),
            inner.map(lambda f: f"not ({f})"),
            inner.map(lambda f: f"({f}"),
        ),
        max_leaves=5,
    ),
    text,
)
emails = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"value": st.one_of(st.emails(), text, json_scalars)},
            optional={"type": st.one_of(st.sampled_from(["work", "home"]), json_scalars), "primary": json_values},
        ),
        max_size=3,
    ),
    json_values,
)
user_bodies = st.fixed_dictionaries(
    {"schemas": st.one_of(st.just([USER_SCHEMA]), json_values)},
    optional={
        "userName": st.one_of(st.emails(), text, json_scalars),
        "emails": emails,
        "externalId": json_scalars,
        "active": st.one_of(st.sampled_from(["True", "False", "true", "yes"]), json_scalars),
        "roles": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"value": st.one_of(st.sampled_from(["admin", "member", "viewer", "Admin"]), json_scalars)},
                    optional={"primary": json_scalars},
                ),
                max_size=3,
            ),
            json_values,
        ),
        "name": st.one_of(
            st.fixed_dictionaries({}, optional={"givenName": json_scalars, "formatted": json_scalars}), json_values
        ),
        "displayName": json_scalars,
        "meta": json_values,
        "id": json_scalars,
        "favouriteColour": json_values,
    },
)
patch_bodies = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([PATCH_SCHEMA]), json_values),
        "Operations": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "op": st.one_of(
                            st.sampled_from(["add", "replace", "remove", "Replace", "Add", "move"]), json_scalars
                        )
                    },
                    optional={"path": st.one_of(st.sampled_from(ATTRIBUTES), text, json_scalars), "value": json_values},
                ),
                max_size=3,
            ),
            json_values,
        ),
    }
)
ids = st.one_of(
    st.sampled_from(["1", "2", "3", "0", "-1", "99999999999999999999", "abc", "%00", ".search"]),
    st.integers(0, 10**6).map(str),
)
paging = st.fixed_dictionaries(
    {},
    optional={
        "startIndex": st.one_of(st.integers(-5, 10**12).map(str), text),
        "count": st.one_of(st.integers(-5, 10**12).map(str), text),
        "attributes": st.one_of(st.sampled_from(ATTRIBUTES), text),
        "excludedAttributes": st.one_of(st.sampled_from(ATTRIBUTES), text),
    },
)


@st.composite
def requests(draw):
    route = draw(st.sampled_from(["list", "search", "create", "get", "put", "patch", "delete", "discovery", "junk"]))
    if route == "list":
        params = draw(paging)
        if draw(st.booleans()):
            params["filter"] = draw(filters)
        return "get", "Users", params, None
    if route == "search":
        body = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "filter": filters,
                    "startIndex": json_scalars,
                    "count": json_scalars,
                    "attributes": json_values,
                },
            )
        )
        return "post", draw(st.sampled_from(["Users/.search", ".search"])), {}, body
    if route == "create":
        return "post", "Users", {}, draw(st.one_of(user_bodies, json_values))
    if route == "get":
        return "get", f"Users/{draw(ids)}", draw(paging), None
    if route == "put":
        return "put", f"Users/{draw(ids)}", {}, draw(st.one_of(user_bodies, json_values))
    if route == "patch":
        return "patch", f"Users/{draw(ids)}", {}, draw(st.one_of(patch_bodies, json_values))
    if route == "delete":
        return "delete", f"Users/{draw(ids)}", {}, None
    if route == "discovery":
        path = draw(
            st.sampled_from(["ServiceProviderConfig", "ResourceTypes", "ResourceTypes/User", "Schemas", "Schemas/x"])
        )
        return (
            draw(st.sampled_from(["get", "post", "put", "patch", "delete"])),
            path,
            {},
            draw(st.one_of(st.none(), json_values)),
        )
    return draw(st.sampled_from(["get", "post"])), draw(text.map(lambda t: "Users/" + t)), {}, None


def check(response):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == SCIM
        body = json.loads(response.content)
        assert body["schemas"] == [ERROR] and body["status"] == str(response.status_code)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(call=requests())
def test_scim_routes_never_fail_with_a_5xx(scim, call):
    method, path, params, body = call
    query = urlencode(params)
    kwargs = {}
    if body is not None and method not in ("get", "delete"):
        kwargs = {"data": json.dumps(body), "content_type": SCIM}
    extra = {"HTTP_AUTHORIZATION": f"Bearer {scim.token}"}
    url = "/scim/v2/" + quote(path, safe="/.") + (f"?{query}" if query else "")
    response = getattr(scim.client, method)(url, **kwargs, **extra)
    check(response)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{" + b'"a":"' + b"x" * (70 * 1024) + b'"}', SCIM, 413),
        (b"\xff\xfe not json", SCIM, 400),
        (b'{"schemas": [', SCIM, 400),
        (b"[]", "application/json", 400),
        (b"userName=x", "application/x-www-form-urlencoded", 415),
        (b"1e999999", SCIM, 400),
        (b"[" * 100_000, SCIM, 413),
    ],
)
def test_oversized_and_malformed_bodies_get_scim_errors(scim, body, content_type, status):
    response = scim.client.post(
        "/scim/v2/Users", data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {scim.token}"
    )
    assert response.status_code == status, response.content
    check(response)


def test_too_many_query_parameters_get_a_scim_error(scim):
    query = "&".join(f"p{index}=1" for index in range(1_500))  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = scim.client.get(f"/scim/v2/Users?{query}", HTTP_AUTHORIZATION=f"Bearer {scim.token}")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["scimType"] == "invalidSyntax"
    check(response)
