"""Who may reset their password in the current org."""

from django.contrib.auth import get_user_model

from accounts.models import Membership

# Audit actions of password reset (the request is recorded by the task that mails the link).


def resettable_membership(*, user) -> Membership | None:
    """The user's membership of this org when they may use a reset link: joined (a deactivated
    member cannot reset their way back in) and allowed to log in at all."""
    if user is None or not user.is_active or not user.has_usable_password():
        return None
    return Membership.objects.select_related("user").filter(user=user, state=Membership.State.JOINED).first()


def reset_recipient(*, email: str) -> Membership | None:
    """The membership a reset e-mail to ``email`` would go to, if any."""
    user = get_user_model().objects.filter(email__iexact=email.strip()).first()
    return resettable_membership(user=user)
