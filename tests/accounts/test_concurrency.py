"""Concurrency with real transactions: two threads, each with its own database connection.

These tests commit, so they run in a scratch org created (and dropped) by this module, never with
the ``db`` fixture's rollback; users they create are deleted afterwards.
"""

import threading
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from accounts import people_services, services
from accounts.models import Membership, Role
from orgdash.core.services import organization_create
from orgdash.errors import Conflict
from tests.factories import make_member, make_user

HOLD_SECONDS = 0.6


@pytest.fixture(scope="module")
def race_org(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization = organization_create(slug="race-lab", name="Race Lab")
    yield organization
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        _delete_race_users()


@pytest.fixture
def committed(race_org, django_db_blocker):
    """Committed writes inside the scratch org; its members and audit rows are removed afterwards."""
    with django_db_blocker.unblock():
        connection.set_tenant(race_org)
        yield race_org
        connection.set_tenant(race_org)
        from accounts.models import AuditEvent

        AuditEvent.objects.all().delete()
        Membership.objects.all().delete()
        connection.set_schema_to_public()
        _delete_race_users()


def _delete_race_users():
    # A raw delete: the ORM's cascade collector would look for memberships in the public schema.
    get_user_model().objects.filter(email__endswith="@race.test")._raw_delete(connection.alias)


def _two_admins():
    a = make_member(user=make_user(email=f"a-{uuid.uuid4().hex[:8]}@race.test"), role=Role.ADMIN)
    b = make_member(user=make_user(email=f"b-{uuid.uuid4().hex[:8]}@race.test"), role=Role.ADMIN)
    return a, b


def _run_in_thread(organization, work):
    """Runs ``work()`` in a new thread (its own connection, in the org's schema)."""
    outcome = {}

    def target():
        try:
            connection.set_tenant(organization)
            outcome["value"] = work()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _hold_then_second(organization, first_action, second_action):
    """The first action runs and keeps its transaction open; meanwhile the second one starts.
    Returns both outcomes and whether the second one finished only once the first was committing
    (that is, it waited for the first transaction's locks)."""
    first_done, second_started, first_committing = threading.Event(), threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            result = first_action()
            first_done.set()
            second_started.wait(5)
            time.sleep(HOLD_SECONDS)  # the second action is now waiting for our locks (or not)
            first_committing.set()  # set before the commit, so a waiting second action always sees it
        return result

    def second():
        first_done.wait(5)
        second_started.set()
        try:
            return second_action()
        finally:
            finished_after_first.append(first_committing.is_set())

    finished_after_first = []
    t1, first_outcome = _run_in_thread(organization, first)
    t2, second_outcome = _run_in_thread(organization, second)
    t1.join(20)
    t2.join(20)
    return first_outcome, second_outcome, finished_after_first[0]


def _joined_admins() -> int:
    return Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).count()


def test_two_admins_demoting_each_other_at_once_leaves_one_admin(committed):
    a, b = _two_admins()
    first, second, waited = _hold_then_second(
        committed,
        lambda: services.membership_change_role(membership=b, role=Role.MEMBER, actor=a.user),
        lambda: services.membership_change_role(membership=a, role=Role.MEMBER, actor=b.user),
    )
    assert "error" not in first, first
    assert isinstance(second.get("error"), Conflict), second
    assert waited, "the second change went ahead without waiting for the first transaction's locks"
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.role, b.role) == (Role.ADMIN, Role.MEMBER)
    assert _joined_admins() == 1


def test_two_admins_deactivating_each_other_at_once_leaves_one_admin(committed):
    a, b = _two_admins()
    first, second, _ = _hold_then_second(
        committed,
        lambda: services.membership_deactivate(membership=a, actor=b.user),
        lambda: services.membership_deactivate(membership=b, actor=a.user),
    )
    assert "error" not in first, first
    assert isinstance(second.get("error"), Conflict), second
    assert _joined_admins() == 1


def test_simultaneous_demote_and_deactivate_with_a_barrier(committed):
    """Both start at the same instant, repeatedly: exactly one wins every time."""
    for _ in range(5):
        a, b = _two_admins()
        barrier = threading.Barrier(2)

        def act(action, target, actor, barrier=barrier):
            def work():
                barrier.wait(5)
                return action(membership=target, actor=actor.user)

            return work

        t1, o1 = _run_in_thread(committed, act(services.membership_deactivate, a, b))
        t2, o2 = _run_in_thread(
            committed,
            act(
                lambda membership, actor: services.membership_change_role(
                    membership=membership, role=Role.VIEWER, actor=actor
                ),
                b,
                a,
            ),
        )
        t1.join(20)
        t2.join(20)
        errors = [o.get("error") for o in (o1, o2) if "error" in o]
        assert len(errors) == 1 and isinstance(errors[0], Conflict), (o1, o2)
        assert _joined_admins() == 1
        Membership.objects.filter(pk__in=[a.pk, b.pk]).delete()


def test_two_simultaneous_accepts_make_one_membership(committed):
    email = f"joiner-{uuid.uuid4().hex[:8]}@race.test"
    token = services.invite_create(emails=[email]).tokens.popitem()[1]
    first, second, waited = _hold_then_second(
        committed,
        lambda: services.invite_accept(token=token, name="First", password="a-Long-pass-phrase"),
        lambda: services.invite_accept(token=token, name="Second", password="another-Long-pass"),
    )
    assert "error" not in first, first
    assert isinstance(second.get("error"), services.InviteInvalid), second
    assert waited, "the second acceptance went ahead without waiting for the first"
    memberships = Membership.objects.filter(email=email)
    assert memberships.count() == 1 and memberships.get().state == Membership.State.JOINED
    assert memberships.get().name == "First"
    connection.set_schema_to_public()
    assert get_user_model().objects.filter(email=email).count() == 1
    connection.set_tenant(committed)


def test_accepts_racing_from_a_barrier(committed):
    for _ in range(3):
        email = f"racer-{uuid.uuid4().hex[:8]}@race.test"
        token = services.invite_create(emails=[email]).tokens.popitem()[1]
        barrier = threading.Barrier(2)

        def accept(name, barrier=barrier, token=token):
            def work():
                barrier.wait(5)
                return services.invite_accept(token=token, name=name, password="a-Long-pass-phrase")

            return work

        threads = [_run_in_thread(committed, accept(name)) for name in ("One", "Two")]
        for thread, _ in threads:
            thread.join(20)
        outcomes = [outcome for _, outcome in threads]
        assert sum("value" in o for o in outcomes) == 1, outcomes
        assert Membership.objects.filter(email=email, state=Membership.State.JOINED).count() == 1


def test_a_bulk_and_a_single_deactivation_racing_leave_one_admin(committed):
    a, b = _two_admins()
    first, second, waited = _hold_then_second(
        committed,
        lambda: people_services.membership_bulk(action="deactivate", ids=[b.pk], actor=a.user),
        lambda: services.membership_deactivate(membership=a, actor=b.user),
    )
    assert first.get("value") is not None and first["value"].done == [b.pk], first
    assert isinstance(second.get("error"), Conflict), second
    assert waited >= HOLD_SECONDS * 0.8
    assert _joined_admins() == 1


def test_a_single_and_a_bulk_demotion_racing_leave_one_admin(committed):
    a, b = _two_admins()
    first, second, _ = _hold_then_second(
        committed,
        lambda: services.membership_change_role(membership=a, role=Role.MEMBER, actor=b.user),
        lambda: people_services.membership_bulk(action="set_role", ids=[b.pk], role=Role.VIEWER, actor=a.user),
    )
    assert "error" not in first, first
    result = second["value"]
    assert result.done == [] and result.skipped == [{"id": b.pk, "reason": services.LAST_ADMIN_MESSAGE}]
    assert _joined_admins() == 1
