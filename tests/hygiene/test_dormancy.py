"""The dormancy policy with a fixed "today": warn, then deactivate, across the thresholds, with
its exemptions, the last admin, activity after a warning, reruns and the "still need access" link."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent, Membership, Role, SystemActor
from accounts.services import invite_create, membership_reactivate
from hygiene import selectors, services
from hygiene.models import DormancyPolicy, DormancyWarning, PolicyRun
from tests.conftest import host_of
from tests.hygiene.conftest import NOW, days, make_person

pytestmark = pytest.mark.django_db


def enable(after_days=90, warn_days_before=7, exempt_roles=("admin",)):
    return services.dormancy_policy_update(
        enabled=True, after_days=after_days, warn_days_before=warn_days_before, exempt_roles=list(exempt_roles)
    )


def state(member) -> str:
    return Membership.objects.get(pk=member.pk).state


def policy_audit(member, action) -> int:
    return AuditEvent.objects.filter(actor_email=SystemActor.POLICY, action=action, target_membership=member).count()


def test_the_policy_is_off_by_default_and_does_nothing(in_acme):
    member = make_person(quiet_days=400)
    assert selectors.dormancy_policy_get().enabled is False
    result = services.dormancy_run(now=NOW)
    assert result.ran is False
    assert state(member) == Membership.State.JOINED
    assert not DormancyWarning.objects.filter(membership=member).exists()


def test_warned_at_after_minus_warn_days_then_deactivated_at_after_days(in_acme, django_capture_on_commit_callbacks):
    enable(after_days=90, warn_days_before=7)
    too_recent = make_person(quiet_days=82)
    at_threshold = make_person(quiet_days=83)

    services.dormancy_run(now=NOW)
    assert not DormancyWarning.objects.filter(membership=too_recent).exists()
    warning = DormancyWarning.objects.get(membership=at_threshold)
    assert warning.deactivate_on == (NOW + days(7)).date()
    assert policy_audit(at_threshold, "dormancy.warn") == 1

    # Six days later: 89 quiet days, still a member; the one who was too recent is now warned.
    services.dormancy_run(now=NOW + days(6))
    assert state(at_threshold) == Membership.State.JOINED
    assert DormancyWarning.objects.filter(membership=too_recent).count() == 1

    # At 90 quiet days: deactivated, by the policy, once.
    services.dormancy_run(now=NOW + days(7))
    assert state(at_threshold) == Membership.State.DEACTIVATED
    assert policy_audit(at_threshold, "membership.deactivate") == 1
    assert state(too_recent) == Membership.State.JOINED


def test_someone_long_gone_is_warned_first_and_gets_the_full_notice(in_acme):
    enable(after_days=90, warn_days_before=7)
    gone = make_person(quiet_days=400)
    never = make_person(quiet_days=120, never_active=True)  # added 120 days ago, never active

    services.dormancy_run(now=NOW)
    assert state(gone) == state(never) == Membership.State.JOINED
    assert {w.membership_id for w in DormancyWarning.objects.filter(deactivate_on=(NOW + days(7)).date())} >= {
        gone.pk,
        never.pk,
    }
    services.dormancy_run(now=NOW + days(6))
    assert state(gone) == Membership.State.JOINED
    services.dormancy_run(now=NOW + days(7))
    assert state(gone) == state(never) == Membership.State.DEACTIVATED


def test_no_warning_days_deactivates_at_after_days_without_a_warning(in_acme):
    enable(after_days=30, warn_days_before=0)
    due = make_person(quiet_days=30)
    not_yet = make_person(quiet_days=29)
    services.dormancy_run(now=NOW)
    assert state(due) == Membership.State.DEACTIVATED
    assert state(not_yet) == Membership.State.JOINED
    assert not DormancyWarning.objects.filter(membership__in=[due, not_yet]).exists()


def test_a_rerun_the_same_day_does_nothing_more(in_acme, eager_celery, django_capture_on_commit_callbacks):
    enable()
    member = make_person(quiet_days=85)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.dormancy_run(now=NOW)
    later_that_day = make_person(quiet_days=85)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.dormancy_run(now=NOW.replace(hour=23))
    assert first.ran and not second.ran
    assert PolicyRun.objects.filter(day=NOW.date()).count() == 1
    assert DormancyWarning.objects.filter(membership=member).count() == 1
    assert not DormancyWarning.objects.filter(membership=later_that_day).exists()
    assert [m.to for m in mail.outbox].count([member.email]) == 1
    assert policy_audit(member, "dormancy.warn") == 1


def test_exempt_roles_are_never_warned_or_deactivated(in_acme):
    enable(after_days=30, warn_days_before=0, exempt_roles=["admin", "viewer"])
    admin = make_person(quiet_days=400, role=Role.ADMIN)
    viewer = make_person(quiet_days=400, role=Role.VIEWER)
    member = make_person(quiet_days=400, role=Role.MEMBER)
    services.dormancy_run(now=NOW)
    assert state(admin) == state(viewer) == Membership.State.JOINED
    assert state(member) == Membership.State.DEACTIVATED


def test_never_the_last_active_admin(in_acme):
    enable(after_days=30, warn_days_before=0, exempt_roles=[])
    # Every active admin of acme is dormant; the most recently seen one stays.
    Membership.objects.filter(role=Role.ADMIN, state=Membership.State.JOINED).update(
        last_active=NOW - days(300), created_at=NOW - days(900)
    )
    newest = make_person(quiet_days=200, role=Role.ADMIN)
    plan = selectors.dormancy_plan(terms=selectors.PolicyTerms.of(DormancyPolicy.objects.get()), today=NOW.date())
    assert newest.pk not in {m.pk for m in plan.deactivate} and plan.kept_last_admin == 1
    services.dormancy_run(now=NOW)
    admins = Membership.objects.filter(role=Role.ADMIN, state=Membership.State.JOINED)
    assert list(admins.values_list("pk", flat=True)) == [newest.pk]


def test_activity_since_the_warning_cancels_the_deactivation(in_acme):
    enable(after_days=90, warn_days_before=7)
    member = make_person(quiet_days=83)
    services.dormancy_run(now=NOW)
    assert DormancyWarning.objects.filter(membership=member).exists()
    Membership.objects.filter(pk=member.pk).update(last_active=NOW + days(3))
    services.dormancy_run(now=NOW + days(7))
    services.dormancy_run(now=NOW + days(8))
    assert state(member) == Membership.State.JOINED
    assert policy_audit(member, "membership.deactivate") == 0
    assert DormancyWarning.objects.filter(membership=member).count() == 1  # no new episode warning yet


def test_pending_invites_are_left_alone(in_acme):
    enable(after_days=30, warn_days_before=0, exempt_roles=[])
    invite = invite_create(emails=["pending-dormancy@example.test"]).invited[0]
    Membership.objects.filter(pk=invite.pk).update(created_at=NOW - days(400))
    services.dormancy_run(now=NOW)
    assert state(invite) == Membership.State.INVITED
    assert not DormancyWarning.objects.filter(membership=invite).exists()


def test_a_reactivated_person_starts_a_new_episode(in_acme):
    enable(after_days=30, warn_days_before=0)
    member = make_person(quiet_days=100)
    services.dormancy_run(now=NOW)
    assert state(member) == Membership.State.DEACTIVATED
    membership_reactivate(membership=member)  # by an admin, now (the reactivation's audit row)
    services.dormancy_run(now=NOW + days(1))
    assert state(member) == Membership.State.JOINED


def test_the_warning_email_link_keeps_access(in_acme, eager_celery, django_capture_on_commit_callbacks):
    enable(after_days=90, warn_days_before=7)
    member = make_person(quiet_days=85)
    with django_capture_on_commit_callbacks(execute=True):
        services.dormancy_run(now=NOW)
    message = next(m for m in mail.outbox if m.to == [member.email])
    html = message.alternatives[0][0]
    link = re.search(r"http://acme\.localhost:8000(/still-here/[A-Za-z0-9_-]+/)", message.body).group(1)
    assert link in html and "I still need access" in html
    warning = DormancyWarning.objects.get(membership=member)
    assert warning.sent_at is not None and warning.send_attempts == 1

    client = Client(HTTP_HOST=host_of("acme"))
    in_acme_tenant = in_acme
    # Opening the link (a mail scanner could) changes nothing; pressing the button does.
    assert client.get(link).status_code == 200
    assert Membership.objects.get(pk=member.pk).last_active == member.last_active
    response = client.post(link)
    assert response.status_code == 200 and b"Your access is kept" in response.content
    connection.set_tenant(in_acme_tenant)  # the test client's request left the tenant
    assert Membership.objects.get(pk=member.pk).last_active > NOW - days(1)
    assert DormancyWarning.objects.get(pk=warning.pk).kept_at is not None
    services.dormancy_run(now=NOW + days(7))
    assert state(member) == Membership.State.JOINED


def test_an_unknown_link_says_so(in_acme):
    client = Client(HTTP_HOST=host_of("acme"))
    response = client.post("/still-here/not-a-token/")
    assert response.status_code == 200 and b"This link does not work" in response.content
