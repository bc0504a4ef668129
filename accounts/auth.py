"""Authentication that is always scoped to the organization of the current host.

A password, session or API key that is valid in one org never opens another: on an org host a user
must hold a joined (not deactivated) membership of that org, or be support staff. On the public
host only support staff can sign in (Django admin).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection

from accounts.models import Membership


def current_schema() -> str:
    return connection.schema_name


def on_public_schema() -> bool:
    return current_schema() == "public"


def active_membership_for(user_id) -> Membership | None:
    return Membership.objects.select_related("user").filter(user_id=user_id, state=Membership.State.JOINED).first()


class OrganizationMembershipBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip()
        if not email or password is None:
            return None
        User = get_user_model()
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            User().set_password(password)  # same cost as a real check: no user enumeration by timing
            return None
        if not user.check_password(password) or not self.user_can_authenticate(user):
            return None
        if self._may_enter_current_org(user):
            return user
        if request is not None and self._deactivated_here(user):
            # Only someone who knows the password learns why; the form shows it.
            request.orgdash_login_refused_as_deactivated = True
        return None

    @staticmethod
    def _deactivated_here(user) -> bool:
        return (
            not on_public_schema() and Membership.objects.filter(user=user, state=Membership.State.DEACTIVATED).exists()
        )

    def get_user(self, user_id):
        if on_public_schema():
            user = super().get_user(user_id)
            return user if user is not None and user.is_staff else None
        membership = active_membership_for(user_id)
        if membership is not None and membership.user.is_active:
            user = membership.user
            user.membership = membership
            return user
        user = super().get_user(user_id)
        if user is not None and user.is_staff:
            user.membership = None
            return user
        return None

    def _may_enter_current_org(self, user) -> bool:
        if user.is_staff:
            return True
        if on_public_schema():
            return False
        return Membership.objects.filter(user=user, state=Membership.State.JOINED).exists()


def membership_of(user) -> Membership | None:
    """The current org's membership of a request's user (loaded once by the backend)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "membership"):
        user.membership = None if on_public_schema() else active_membership_for(user.pk)
    return user.membership


def is_org_admin(user) -> bool:
    membership = membership_of(user)
    return bool(membership and membership.is_admin)


def may_view_dashboard(user) -> bool:
    return getattr(user, "is_authenticated", False) and (user.is_staff or is_org_admin(user))
