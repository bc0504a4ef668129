"""Writes on an org's members. Each function is keyword-only, atomic and idempotent."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Role


@transaction.atomic
def membership_add(*, user, role: str = Role.MEMBER, invited_by=None) -> Membership:
    """Makes ``user`` a joined member of the current org (or returns the existing membership)."""
    membership = Membership.objects.filter(user=user).first()
    if membership is not None:
        return membership
    now = timezone.now()
    return Membership.objects.create(
        user=user,
        email=user.email,
        username=user.username,
        name=user.name,
        role=role,
        state=Membership.State.JOINED,
        created_at=now,
        joined_at=now,
        invited_by=invited_by,
        invited_by_email=getattr(invited_by, "email", None),
    )


def user_get_or_create(*, email: str, password: str | None = None, name: str = ""):
    """The global account for ``email``; a new one gets ``password`` (or none usable)."""
    User = get_user_model()
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    base = "".join(ch for ch in email.split("@")[0] if ch.isalnum() or ch in "._-")[:140] or "user"
    username, suffix = base, 1
    while User.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}{suffix}"
    user = User.objects.create_user(email=email, password=password, username=username, name=name)
    return user, True
