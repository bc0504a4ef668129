"""Provisioning racing the UI with real transactions: threads, each with its own database connection.

These tests commit, so they run in a scratch org created (and dropped) by this module; users they
create are deleted afterwards.
"""

import threading
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from scim2_models import ConflictException, Context, PatchOp

from accounts import people_services, services
from accounts.models import AuditEvent, Membership, Role
from orgdash.core.services import organization_create
from orgdash.errors import Conflict
from scim import services as scim_services
from scim.models import ScimIdentity
from scim.schema import RequestUser
from tests.factories import make_member, make_user

ROUNDS = 8


@pytest.fixture(scope="module")
def race_org(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization = organization_create(slug="scim-race-lab", name="SCIM Race Lab")
    yield organization
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        _delete_race_users()


@pytest.fixture
def committed(race_org, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_tenant(race_org)
        yield race_org
        connection.set_tenant(race_org)
        AuditEvent.objects.all().delete()
        ScimIdentity.objects.all().delete()
        Membership.objects.all().delete()
        connection.set_schema_to_public()
        _delete_race_users()


def _delete_race_users():
    # A raw delete: the ORM's cascade collector would look for memberships in the public schema.
    get_user_model().objects.filter(email__endswith="@scim-race.test")._raw_delete(connection.alias)


def _admins(n: int) -> list[Membership]:
    return [
        make_member(user=make_user(email=f"{uuid.uuid4().hex[:10]}@scim-race.test"), role=Role.ADMIN) for _ in range(n)
    ]


def _scim_demote(membership: Membership):
    return _scim_set_role(membership, Role.MEMBER)


def _scim_set_role(membership: Membership, role: str):
    patch = PatchOp[RequestUser].model_validate(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "roles", "value": [{"value": role, "primary": True}]}],
        },
        scim_ctx=Context.RESOURCE_PATCH_REQUEST,
    )
    return scim_services.user_patch(membership=membership, patch=patch)


def _scim_rename(membership: Membership, name: str):
    patch = PatchOp[RequestUser].model_validate(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": name}],
        },
        scim_ctx=Context.RESOURCE_PATCH_REQUEST,
    )
    return scim_services.user_patch(membership=membership, patch=patch)


def _at_once(organization, *actions) -> list[dict]:
    """Runs the actions in threads released together; returns each one's outcome."""
    barrier = threading.Barrier(len(actions))
    outcomes = [{} for _ in actions]

    def run(action, outcome):
        try:
            connection.set_tenant(organization)
            barrier.wait(5)
            outcome["value"] = action()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(actions, outcomes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def _joined_admins() -> int:
    return Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).count()


def _refusals_only(outcomes) -> list[Exception]:
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    unexpected = [error for error in errors if not isinstance(error, Conflict | ConflictException)]
    assert not unexpected, unexpected  # a deadlock would be an OperationalError here
    return errors


@pytest.mark.parametrize("admins", [2, 3])
def test_the_ui_and_provisioning_demoting_admins_at_once_never_deadlock(committed, admins):
    for _ in range(ROUNDS):
        people = _admins(admins)
        outcomes = _at_once(
            committed,
            lambda first=people[0]: services.membership_change_role(membership=first, role=Role.MEMBER),
            lambda last=people[-1]: _scim_demote(last),
        )
        errors = _refusals_only(outcomes)
        assert _joined_admins() >= 1
        assert len(errors) == (1 if admins == 2 else 0), outcomes
        Membership.objects.filter(pk__in=[p.pk for p in people]).delete()


@pytest.mark.parametrize("admins", [2, 3])
def test_two_provisioning_demotions_at_once_never_deadlock(committed, admins):
    for _ in range(ROUNDS):
        people = _admins(admins)
        outcomes = _at_once(
            committed, lambda first=people[0]: _scim_demote(first), lambda last=people[-1]: _scim_demote(last)
        )
        errors = _refusals_only(outcomes)
        assert _joined_admins() >= 1
        assert len(errors) == (1 if admins == 2 else 0), outcomes
        ScimIdentity.objects.all().delete()
        Membership.objects.filter(pk__in=[p.pk for p in people]).delete()


def test_provisioning_an_admin_while_their_own_change_commits_never_deadlocks(committed):
    """An admin's change checks its audit row's key to their account when it commits; provisioning
    that admin locks their account first, then the admins. The account's lock (FOR NO KEY UPDATE)
    lets that check through instead of the two waiting on each other."""
    for _ in range(ROUNDS):
        account = make_user(email=f"{uuid.uuid4().hex[:10]}@scim-race.test")
        admin = make_member(user=account, role=Role.ADMIN)
        others = _admins(1)
        target = make_member(user=make_user(email=f"{uuid.uuid4().hex[:10]}@scim-race.test"))

        def own_change(target=target, account=account):
            with transaction.atomic():
                services.membership_deactivate(membership=target, actor=account)
                time.sleep(0.2)  # commits a moment later, as a request does once its answer is built

        outcomes = _at_once(committed, own_change, lambda admin=admin: _scim_rename(admin, "Ann Renamed"))
        _refusals_only(outcomes)
        assert Membership.objects.get(pk=target.pk).state == Membership.State.DEACTIVATED
        assert ScimIdentity.objects.filter(membership=admin).exists()
        ScimIdentity.objects.all().delete()
        AuditEvent.objects.all().delete()
        Membership.objects.filter(pk__in=[admin.pk, target.pk, *[o.pk for o in others]]).delete()


def test_a_bulk_action_and_a_provisioning_change_at_once_never_deadlock(committed):
    """A bulk action locks the rows it names in id order, the order a provisioning change locks the
    admins and its own target in (one statement each)."""
    for _ in range(ROUNDS):
        member = make_member(user=make_user(email=f"{uuid.uuid4().hex[:10]}@scim-race.test"))
        admins = _admins(2)
        outcomes = _at_once(
            committed,
            lambda ids=[member.pk, admins[1].pk]: people_services.membership_bulk(action="reactivate", ids=ids),
            lambda member=member: _scim_set_role(member, Role.VIEWER),
        )
        _refusals_only(outcomes)
        assert Membership.objects.get(pk=member.pk).role == Role.VIEWER
        ScimIdentity.objects.all().delete()
        Membership.objects.filter(pk__in=[member.pk, *[a.pk for a in admins]]).delete()
