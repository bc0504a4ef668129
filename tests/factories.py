"""Factories for people: global users and their membership in the current org's schema."""

import itertools

from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import membership_add, user_get_or_create
from tests.conftest import PASSWORD

_sequence = itertools.count(1)


def make_user(*, email: str | None = None, name: str | None = None, password: str = PASSWORD, is_staff=False):
    n = next(_sequence)
    email = email or f"person{n}@example.test"
    user, _ = user_get_or_create(email=email, password=password, name=name or f"Person {n}")
    if is_staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


def make_member(*, role: str = Role.MEMBER, user=None, **fields) -> Membership:
    """A joined member of the org whose schema is current; ``fields`` override membership columns."""
    user = user or make_user()
    membership = membership_add(user=user, role=role)
    if fields:
        for key, value in fields.items():
            setattr(membership, key, value)
        membership.save()
    return membership


def make_pending_invite(*, email: str | None = None, role: str = Role.MEMBER, invited_by=None) -> Membership:
    n = next(_sequence)
    return Membership.objects.create(
        email=email or f"invitee{n}@example.test",
        role=role,
        state=Membership.State.INVITED,
        created_at=timezone.now(),
        invited_by=invited_by,
        invited_by_email=getattr(invited_by, "email", None),
    )
