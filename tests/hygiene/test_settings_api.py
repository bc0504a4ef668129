"""The org-settings API of API.md: the dormancy policy, its preview and the usage reports, with
their bounds (400 and nothing changed), admins only, and the OpenAPI schema's enums and bounds."""

import json

import pytest
from django.core import mail
from django.db import connection

from accounts.models import AuditEvent, Role
from hygiene.models import DormancyPolicy, ReportSettings, UsageReport
from tests.hygiene.conftest import make_person

pytestmark = pytest.mark.django_db

DORMANCY = "/api/v1/settings/dormancy/"
PREVIEW = "/api/v1/settings/dormancy/preview/"
REPORTS = "/api/v1/settings/reports/"
SEND = "/api/v1/settings/reports/send/"


def put(client, path, data):
    return client.put(path, json.dumps(data), content_type="application/json")


def test_dormancy_defaults_then_update_is_audited(admin_client, acme):
    assert admin_client.get(DORMANCY).json() == {
        "enabled": False,
        "after_days": 90,
        "warn_days_before": 7,
        "exempt_roles": ["admin"],
    }
    response = put(
        admin_client, DORMANCY, {"enabled": True, "after_days": 120, "warn_days_before": 14, "exempt_roles": []}
    )
    assert response.status_code == 200
    assert response.json() == {"enabled": True, "after_days": 120, "warn_days_before": 14, "exempt_roles": []}
    # A PUT may leave fields out: they keep their value.
    assert put(admin_client, DORMANCY, {"enabled": False}).json()["after_days"] == 120
    connection.set_tenant(acme)
    event = AuditEvent.objects.filter(action="dormancy.update_policy").first()
    assert event.actor_email == "admin@acme.test" and event.data["new"]["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"after_days": 29}, "after_days", "greater than or equal to 30"),
        ({"after_days": 731}, "after_days", "less than or equal to 730"),
        ({"warn_days_before": -1}, "warn_days_before", "greater than or equal to 0"),
        ({"warn_days_before": 31}, "warn_days_before", "less than or equal to 30"),
        ({"after_days": 30, "warn_days_before": 30}, "warn_days_before", "fewer days than after_days"),
        ({"exempt_roles": ["owner"]}, "exempt_roles", "'owner' is not a role"),
        ({"after_days": "ninety"}, "after_days", "Give a whole number of days."),
        ({"after_days": ""}, "after_days", "Give a whole number of days."),  # an emptied field
        ({"warn_days_before": ""}, "warn_days_before", "Give a whole number of days."),
        ({"enabled": "maybe"}, "enabled", "valid boolean"),
    ],
)
def test_dormancy_out_of_bounds_is_400_and_changes_nothing(admin_client, acme, body, field, message):
    response = put(admin_client, DORMANCY, {"enabled": True, **body})
    assert response.status_code == 400
    data = response.json()
    assert message in " ".join(data["errors"][field]) and data["detail"]
    connection.set_tenant(acme)
    assert not DormancyPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="dormancy.update_policy").exists()


def test_preview_counts_and_samples_as_if_it_ran_now(admin_client, acme):
    connection.set_tenant(acme)
    to_warn = make_person(quiet_days=85)
    to_deactivate = make_person(quiet_days=95)
    exempt = make_person(quiet_days=300, role=Role.ADMIN)
    connection.set_schema_to_public()

    # The policy is off; the preview answers anyway, and the form's unsaved terms can be previewed.
    data = admin_client.get(PREVIEW, {"after_days": 30, "warn_days_before": 0}).json()
    sample = {person["id"]: person for person in data["sample"]}
    assert sample[to_deactivate.pk]["policy_action"] == "deactivate"
    assert sample[to_warn.pk]["email"] == to_warn.email and sample[to_warn.pk]["status"] == "active"
    assert exempt.pk not in sample
    assert data["would_deactivate"] >= 2 and data["would_warn"] == 0

    data = admin_client.get(PREVIEW).json()  # the saved (default) terms: 90 days, warn 7 before
    actions = {person["id"]: person["policy_action"] for person in data["sample"]}
    assert actions[to_warn.pk] == "warn" and actions[to_deactivate.pk] == "warn"  # a warning comes first
    assert data["would_warn"] >= 2 and len(data["sample"]) <= 20

    response = admin_client.get(PREVIEW, {"after_days": 10})
    assert response.status_code == 400 and "after_days" in response.json()["errors"]
    response = admin_client.get(PREVIEW, {"exempt_roles": "admin,boss"})
    assert response.status_code == 400 and "'boss' is not a role" in response.json()["detail"]
    # A single-value term given two different values is refused rather than read as the last;
    # exempt_roles repeated takes every role, as the comma-separated form does.
    response = admin_client.get(PREVIEW, {"after_days": [30, 60]})
    assert response.status_code == 400 and "after_days" in response.json()["errors"]
    repeated = admin_client.get(PREVIEW, {"after_days": 30, "warn_days_before": 0, "exempt_roles": ["admin", "member"]})
    joined = admin_client.get(PREVIEW, {"after_days": 30, "warn_days_before": 0, "exempt_roles": "admin,member"})
    assert repeated.status_code == 200 and repeated.json() == joined.json()
    assert to_deactivate.pk not in {person["id"] for person in joined.json()["sample"]}


def test_reports_settings_and_validation(admin_client, acme):
    assert admin_client.get(REPORTS).json() == {"frequency": "off", "recipients": []}
    response = put(
        admin_client, REPORTS, {"frequency": "weekly", "recipients": ["Boss@Example.test", "boss@example.test"]}
    )
    assert response.status_code == 200
    assert response.json() == {"frequency": "weekly", "recipients": ["boss@example.test"]}
    for body, field in [
        ({"frequency": "daily"}, "frequency"),
        ({"recipients": ["not an address"]}, "recipients"),
        ({"recipients": [f"p{n}@example.test" for n in range(51)]}, "recipients"),
    ]:
        response = put(admin_client, REPORTS, body)
        assert response.status_code == 400 and field in response.json()["errors"], body
    connection.set_tenant(acme)
    settings = ReportSettings.objects.get()
    assert settings.frequency == "weekly" and settings.recipients == ["boss@example.test"]
    assert settings.scheduled_since is not None


def test_send_now_goes_to_the_caller_only(admin_client, acme, eager_celery, django_capture_on_commit_callbacks):
    put(admin_client, REPORTS, {"frequency": "monthly", "recipients": ["boss@example.test"]})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(SEND, content_type="application/json")
    assert response.status_code == 202
    data = response.json()
    assert data["email"] == "admin@acme.test" and data["frequency"] == "monthly"
    assert data["start"].endswith("-01")
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    message = mail.outbox[0]
    assert message.alternatives[0][1] == "text/html"
    assert message.attachments[0][0].endswith(".csv") and message.attachments[0][2] == "text/csv"
    assert admin_client.post(SEND, {"frequency": "daily"}, content_type="application/json").status_code == 400
    connection.set_tenant(acme)
    assert UsageReport.objects.filter(kind="on_demand").count() == 1
    assert AuditEvent.objects.filter(action="reports.send_now", actor_email="admin@acme.test").count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", DORMANCY), ("put", DORMANCY), ("get", PREVIEW), ("get", REPORTS), ("put", REPORTS), ("post", SEND)],
)
def test_only_admins(member_client, method, path):
    if method == "get":
        response = member_client.get(path)
    else:
        response = getattr(member_client, method)(path, "{}", content_type="application/json")
    assert response.status_code == 403


def test_settings_page_is_for_admins_with_a_settings_tab(admin_client, member_client):
    response = admin_client.get("/org/dashboard/settings/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-current="page">Settings</a>' in body and "Send me this report now" in body
    assert 'href="/org/dashboard/settings/provisioning/">Provisioning</a>' in body


def test_settings_page_refuses_members(member_client):
    assert member_client.get("/org/dashboard/settings/").status_code == 403


def test_openapi_schema_has_the_enums_and_bounds(admin_client):
    schema = admin_client.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    policy = components["DormancyPolicy"]["properties"]
    assert (policy["after_days"]["minimum"], policy["after_days"]["maximum"]) == (30, 730)
    assert (policy["warn_days_before"]["minimum"], policy["warn_days_before"]["maximum"]) == (0, 30)

    def resolved(node):
        node = node["allOf"][0] if "allOf" in node else node
        return components[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    assert set(resolved(policy["exempt_roles"]["items"])["enum"]) == {"admin", "member", "viewer"}
    frequency = resolved(components["ReportSettings"]["properties"]["frequency"])
    assert set(frequency["enum"]) == {"off", "weekly", "monthly"}
    paths = schema["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/settings/dormancy/"])
    assert "202" in paths["/api/v1/settings/reports/send/"]["post"]["responses"]
    preview = {p["name"]: p for p in paths["/api/v1/settings/dormancy/preview/"]["get"]["parameters"]}
    assert preview["after_days"]["schema"]["maximum"] == 730
