"""Hostile input: property-based tests of the CSV writers and the ingestion validator, and bad
requests that must answer a clear 4xx, never a 5xx."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.exports import FORMULA_PREFIXES, neutralize_formula
from accounts.models import AuditEvent, Membership
from activity.models import ActivityKind
from activity.services import activity_events_ingest
from orgdash.api.parsers import MAX_JSON_DEPTH
from tests.conftest import login
from tests.factories import make_member, make_user
from tests.scim.conftest import SCIM, ScimClient, token_for

pytestmark = pytest.mark.django_db
DB_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
# PostgreSQL text cannot hold NUL; everything else, including newlines, quotes and any script, can.
cell_text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=60)
risky_text = st.one_of(cell_text, st.tuples(st.sampled_from(FORMULA_PREFIXES), cell_text).map("".join))


def _rolled_back():
    """A savepoint for one Hypothesis example, so examples never see each other's rows."""

    class Savepoint:
        def __enter__(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc):
            transaction.set_rollback(True)
            self.atomic.__exit__(*exc)
            return False

    return Savepoint()


# --- the CSV writers ------------------------------------------------------------------------------


@given(value=st.one_of(st.none(), risky_text))
def test_formula_guard_prefixes_exactly_the_dangerous_cells(value):
    guarded = neutralize_formula(value)
    if value and value.startswith(FORMULA_PREFIXES):
        assert guarded == "'" + value
    else:
        assert guarded == value


@pytest.fixture
def admin_client(acme, acme_client):
    login(acme_client, "admin@acme.test")
    return acme_client


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


@DB_SETTINGS
@given(name=risky_text.filter(lambda text: text.strip() == text and text))
def test_users_export_round_trips_any_name_and_never_starts_a_formula(acme, admin_client, name):
    with _rolled_back():
        connection.set_tenant(acme)
        member = make_member(user=make_user(name=name))
        connection.set_schema_to_public()
        rows = _csv(admin_client.get("/api/v1/users/export.csv", {"search": member.email}))
    header, *body = rows
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["name"] == neutralize_formula(name)
    for cell in body[0]:
        assert not cell.startswith(FORMULA_PREFIXES), cell


@DB_SETTINGS
@given(actor=risky_text, target=risky_text, action=risky_text.filter(lambda text: text and text != "audit.export"))
def test_audit_export_round_trips_any_text_and_never_starts_a_formula(acme, admin_client, actor, target, action):
    with _rolled_back():
        connection.set_tenant(acme)
        AuditEvent.objects.all().delete()
        AuditEvent.objects.create(actor_email=actor[:254], action=action[:64], target_repr=target[:254])
        connection.set_schema_to_public()
        rows = _csv(admin_client.get("/api/v1/audit/export.csv"))
        # The download records itself (an ``audit.export`` row); that row is not under test here.
        rows = [rows[0]] + [row for row in rows[1:] if row[2] != "audit.export"]
    header, *body = rows
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["actor"] == neutralize_formula(actor[:254])
    assert row["target"] == neutralize_formula(target[:254])
    assert row["action"] == neutralize_formula(action[:64])
    for cell in body[0]:
        assert not cell.startswith(FORMULA_PREFIXES), cell


# --- the ingestion validator ------------------------------------------------------------------------

MEMBERS = ["member@acme.test", "viewer@acme.test", "admin@acme.test"]
KINDS = [kind.label for kind in ActivityKind]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), cell_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(cell_text, children, max_size=3),
    max_leaves=8,
)


@st.composite
def valid_events(draw):
    seconds_ago = draw(st.integers(min_value=0, max_value=3 * 24 * 3600))
    when = timezone.now() - dt.timedelta(seconds=seconds_ago)
    return {
        "user": draw(st.sampled_from(MEMBERS)),
        "kind": draw(st.sampled_from(KINDS)),
        "timestamp": when.isoformat().replace("+00:00", draw(st.sampled_from(["Z", "+00:00"]))),
    }


hostile_events = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"user": json_values, "kind": json_values, "timestamp": json_values},
    ),
    st.fixed_dictionaries(
        {
            "user": st.sampled_from([*MEMBERS, "admin@globex.test", "nobody@acme.test", "", "x" * 300]),
            "kind": st.sampled_from([*KINDS, "LOGIN", "delete", ""]),
            "timestamp": st.sampled_from(
                [
                    "2026-13-01T00:00:00Z",
                    "yesterday",
                    "2999-01-01T00:00:00Z",
                    "1999-12-31",
                    # In range as written, out of range once moved to UTC.
                    "9999-12-31T23:59:59-05:00",
                    "0001-01-01T00:00:00+01:00",
                ]
            ),
        }
    ),
)


@DB_SETTINGS
@given(events=st.lists(st.tuples(st.booleans(), valid_events(), hostile_events), max_size=25))
def test_ingestion_accepts_every_valid_event_and_rejects_the_rest_one_by_one(in_acme, events):
    batch = [valid if keep_valid else hostile for keep_valid, valid, hostile in events]
    valid_indexes = {index for index, (keep_valid, _, _) in enumerate(events) if keep_valid}
    with _rolled_back():
        result = activity_events_ingest(events=batch)
    rejected = [item["index"] for item in result.rejected]
    assert rejected == sorted(set(rejected)), "each bad event is listed once, in order"
    assert set(rejected) <= set(range(len(batch)))
    assert not valid_indexes & set(rejected), result.rejected
    assert result.accepted + len(rejected) == len(batch)
    assert all(isinstance(item["reason"], str) and item["reason"] for item in result.rejected)


@DB_SETTINGS
@given(body=json_values)
def test_ingestion_endpoint_takes_any_batch_and_refuses_any_other_json(acme, admin_client, body):
    with _rolled_back():
        response = admin_client.post("/api/v1/activity/events/", body, content_type="application/json")
    # A list under "events" is taken and judged event by event; anything else is refused whole.
    is_a_batch = isinstance(body, dict) and isinstance(body.get("events"), list)
    if is_a_batch:
        assert response.status_code == 202, response.content
        assert response.json()["accepted"] + len(response.json()["rejected"]) == len(body["events"])
    else:
        assert response.status_code == 400, response.content
        assert response.json()["detail"]


def test_an_event_naming_another_orgs_member_is_rejected(in_acme):
    result = activity_events_ingest(
        events=[{"user": "admin@globex.test", "kind": "login", "timestamp": timezone.now().isoformat()}]
    )
    assert result.accepted == 0 and [item["index"] for item in result.rejected] == [0]


# --- bad requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/invites/", {"emails": ["a" * 400 + "@example.test"], "role": "member"}),
        ("post", "/api/v1/invites/", {"emails": "not-a-list", "role": "member"}),
        ("post", "/api/v1/invites/", {"emails": ["ok@example.test"], "role": "owner"}),
        ("post", "/api/v1/invites/", {"emails": [{"nested": True}], "role": "member"}),
        ("patch", "/api/v1/users/{member}/", {"role": ["admin"]}),
        ("patch", "/api/v1/users/{member}/", {"role": None}),
        ("get", "/api/v1/users/", {"page_size": "-1"}),
        ("get", "/api/v1/users/", {"status": "bogus"}),
        ("get", "/api/v1/users/", {"ordering": "password"}),
        ("get", "/api/v1/users/", {"search": "a\x00b"}),
        ("get", "/api/v1/activity/summary/", {"period": "1y"}),
        ("get", "/api/v1/audit/", {"since": "2026-02-30"}),
    ],
)
def test_bad_input_answers_a_clear_4xx(acme, admin_client, method, path, body):
    connection.set_tenant(acme)
    member = make_member()
    connection.set_schema_to_public()
    path = path.format(member=member.pk)
    if method == "get":
        response = admin_client.get(path, body)
    else:
        response = getattr(admin_client, method)(path, body, content_type="application/json")
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "content_type, payload, expected",
    [
        ("application/json", b"{not json", 400),
        ("text/plain", b"emails=x", 415),
        ("application/json", b"[1, 2, 3]", 400),
    ],
)
def test_malformed_bodies_are_refused(admin_client, content_type, payload, expected):
    response = admin_client.generic("POST", "/api/v1/invites/", payload, content_type=content_type)
    assert response.status_code == expected
    assert response.json()["detail"]


def _nested(depth: int) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/users/bulk/"),
        ("post", "/api/v1/invites/"),
        ("patch", "/api/v1/me/"),
        ("post", "/api/v1/activity/events/"),
        ("put", "/api/v1/settings/dormancy/"),
    ],
)
def test_deeply_nested_json_answers_a_json_400_and_changes_nothing(acme, admin_client, method, path):
    connection.set_tenant(acme)
    audit_rows = AuditEvent.objects.count()
    connection.set_schema_to_public()
    for depth in (30_000, MAX_JSON_DEPTH + 1):
        response = getattr(admin_client, method)(path, _nested(depth), content_type="application/json")
        assert response.status_code == 400, (depth, response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/json"
        assert "nested too deeply" in response.json()["detail"]
    connection.set_tenant(acme)
    assert AuditEvent.objects.count() == audit_rows


def test_json_nested_as_deep_as_allowed_is_read(admin_client):
    response = admin_client.patch("/api/v1/me/", _nested(MAX_JSON_DEPTH - 1), content_type="application/json")
    assert response.status_code == 200, response.content[:300]  # an unknown field, ignored


def test_deeply_nested_scim_bodies_answer_a_scim_invalid_syntax_error(acme):
    scim = ScimClient("acme", token_for(acme))
    connection.set_tenant(acme)
    member = make_member()
    connection.set_schema_to_public()
    for method, path in (("post", "Users"), ("put", f"Users/{member.pk}"), ("patch", f"Users/{member.pk}")):
        response = scim.request(method, path, _nested(30_000))
        assert response.status_code == 400, (method, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith(SCIM)
        body = response.json_body
        assert (body["status"], body["scimType"]) == ("400", "invalidSyntax")
        assert "nested too deeply" in body["detail"]


def test_too_many_query_parameters_answer_a_json_400(admin_client):
    query = "&".join(f"p{index}=1" for index in range(1_500))  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
    for path in ("/api/v1/users/", "/api/v1/activity/summary/", "/api/v1/audit/"):
        response = admin_client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.status_code)
        assert response["Content-Type"] == "application/json"
        assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]


def test_huge_ids_and_foreign_ids_are_404(acme, globex, admin_client):
    connection.set_tenant(globex)
    foreign = make_member()
    connection.set_schema_to_public()
    for pk in (2**63, 10**30, foreign.pk + 10_000):
        assert admin_client.get(f"/api/v1/users/{pk}/").status_code == 404
    # A globex membership id names acme's row with that id (if acme has one), never globex's.
    connection.set_tenant(acme)
    same_id_in_acme = Membership.objects.filter(pk=foreign.pk).first()
    connection.set_schema_to_public()
    response = admin_client.get(f"/api/v1/users/{foreign.pk}/")
    if same_id_in_acme is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 200 and response.json()["email"] == same_id_in_acme.email
    assert foreign.email not in response.content.decode()
