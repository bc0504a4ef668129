"""Pages: one person (``/org/dashboard/users/<id>/``) and one's own profile (``/accounts/profile/``)."""

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache

from accounts import people_selectors, people_services, selectors, services
from accounts.auth import is_org_admin, membership_of
from accounts.decorators import org_admin_required
from accounts.forms import ApiKeyForm, ProfileForm, ProfilePasswordForm
from accounts.models import ApiKey, Membership, Role, Status
from orgdash.core.client_address import client_ip
from orgdash.errors import DomainError, InvalidInput

INVITE_GONE = "This invite no longer exists; it may have been cancelled or accepted."
PERSON_GONE = "This person is no longer in this organization; their invite may have been cancelled."
ROLE_ARTICLES = {Role.ADMIN: "an admin", Role.MEMBER: "a member", Role.VIEWER: "a viewer"}


def ago(value, now) -> str:
    """ "just now" under a minute, else "3 days ago": the Users list's words for recent times."""
    if now - value < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value, now)} ago"


def _display_name(membership: Membership) -> str:
    return membership.name or membership.username or membership.email


def _person_gone(request, message: str):
    return render(request, "dashboard/person_gone.html", {"active_tab": "users", "message": message}, status=404)


def _reactivated(membership: Membership) -> str:
    name = _display_name(membership)
    if membership.status == Status.ACTIVE:
        return f"Reactivated {name}; they are Active again."
    if membership.status == Status.INVITE_PENDING:  # never joined: they get a new invite link instead
        return f"Reactivated {name}; a new invite is on its way to {membership.email}."
    label = Status(membership.status).label
    return f"Reactivated {name}. Their status shows “{label}”: no activity in the last six months."


# What takes access away or changes it is asked first: by the page script in a dialog, or,
# without it, on a confirmation step of the page (a POST without ``confirm`` is sent there).
CONFIRMED_ACTIONS = ("role", "deactivate", "cancel")


def _confirmation(membership: Membership, action: str | None, role: str | None, is_me: bool) -> dict | None:
    """The question a confirmation step asks, the words of the script's dialog; None when
    ``action`` asks none or cannot be done as asked."""
    name = _display_name(membership)
    if action == "role" and role in Role.values and role != membership.role and membership.status != Status.DEACTIVATED:
        label = Role(role).label
        return {
            "action": action,
            "role": role,
            "title": f"Make {name} {label.lower()}?",
            "text": "You will no longer be an admin and will lose access to this dashboard."
            if is_me and role != Role.ADMIN
            else f"Their role changes from {Role(membership.role).label} to {label}.",
            "ok": f"Make {label.lower()}",
            "cancel": "Keep role",
        }
    if action == "deactivate" and membership.status not in (Status.DEACTIVATED, Status.INVITE_PENDING):
        return {
            "action": action,
            "title": f"Deactivate {name}?",
            "text": "They are signed out at once and their API keys stop working. You can reactivate them later.",
            "ok": "Deactivate",
            "cancel": "Keep active",
        }
    if action == "cancel" and membership.status == Status.INVITE_PENDING:
        return {
            "action": action,
            "title": f"Cancel the invite for {membership.email}?",
            "text": "The invite link stops working at once. You can invite them again later.",
            "ok": "Cancel invite",
            "cancel": "Keep invite",
        }
    return None


def _person_action(request, membership: Membership):
    """One of the page's action buttons, posted here and redirected back (a reload never repeats
    it) with its outcome as a message; a cancelled invite has no page left, so that one goes to
    the Users list. The page script asks before anything that takes access away."""
    if not (request.user.is_staff or is_org_admin(request.user)):
        raise PermissionDenied("Only organization admins can change people.")
    action = request.POST.get("action")
    here = reverse("dashboard-person", args=[membership.pk])
    own = membership_of(request.user)
    is_me = own is not None and own.pk == membership.pk
    ip = client_ip(request)
    role = request.POST.get("role", "")
    if action == "role" and role == membership.role:
        messages.error(request, f"{_display_name(membership)} is already {ROLE_ARTICLES[role]}.")
        return redirect(here)
    if action in CONFIRMED_ACTIONS and request.POST.get("confirm") != action:
        asked = {"confirm": action, **({"role": role} if action == "role" else {})}
        return redirect(f"{here}?{urlencode(asked)}#confirm-step")
    try:
        if action == "role":
            services.membership_change_role(membership=membership, role=role, actor=request.user, ip_address=ip)
            if is_me and role != Role.ADMIN:
                return redirect("home")  # no longer an admin: this dashboard is not theirs any more
            messages.success(request, f"{_display_name(membership)} is now {ROLE_ARTICLES[role]}.")
        elif action == "deactivate":
            services.membership_deactivate(membership=membership, actor=request.user, ip_address=ip)
            if is_me:
                return redirect(here)  # signed out: the log-in page
            messages.success(request, f"Deactivated {_display_name(membership)}.")
        elif action == "reactivate":
            services.membership_reactivate(membership=membership, actor=request.user, ip_address=ip)
            messages.success(request, _reactivated(selectors.membership_get(pk=membership.pk)))
        elif action == "resend":
            services.invite_resend(membership=membership, actor=request.user, ip_address=ip)
            messages.success(request, f"Sent a new invite to {membership.email}. The previous link no longer works.")
        elif action == "cancel":
            services.invite_cancel(membership=membership, actor=request.user, ip_address=ip)
            messages.success(request, f"Cancelled the invite for {membership.email}.")
            return redirect("dashboard-users")
        else:
            messages.error(request, "Unknown action.")
    except services.InviteNotPending:  # accepted (or cancelled) since the page was drawn
        if not Membership.objects.filter(pk=membership.pk).exists():
            return _person_gone(request, INVITE_GONE)  # cancelled: no page left to say it on
        messages.error(request, INVITE_GONE)
    except Membership.DoesNotExist:
        return _person_gone(request, PERSON_GONE)
    except DomainError as error:  # the last admin, a pending invite asked to deactivate, ...
        messages.error(request, error.message)
    return redirect(here)


# no-store: after an action, Back must not show the page as it was (a cancelled invite's page
# with live buttons) from the browser's caches; the page script reloads one restored from bfcache.
@never_cache
@org_admin_required
def person_page(request, pk: int):
    membership = selectors.membership_get(pk=pk)
    if membership is None:
        action = request.POST.get("action") if request.method == "POST" else None
        return _person_gone(request, INVITE_GONE if action in ("resend", "cancel") else PERSON_GONE)
    if request.method == "POST":
        return _person_action(request, membership)
    now = timezone.now()
    invite = None
    if membership.status == Status.INVITE_PENDING and hasattr(membership, "invite"):
        invite = people_selectors.invite_delivery(
            expires_at=membership.invite.expires_at,
            sent_at=membership.invite.sent_at,
            send_attempts=membership.invite.send_attempts,
            last_send_error=membership.invite.last_send_error,
            now=now,
        )
    own = membership_of(request.user)
    is_me = own is not None and own.pk == membership.pk
    can_manage = request.user.is_staff or is_org_admin(request.user)
    notes = list(messages.get_messages(request))
    api_keys = list(people_selectors.person_api_keys(membership=membership))
    for key in api_keys:
        key.last_used_ago = ago(key.last_used_at, now) if key.last_used_at else ""
    context = {
        "active_tab": "users",
        # The outcome of the action just posted: shown by the actions, and focused by the page script.
        "ok_messages": [str(note) for note in notes if note.level_tag != "error"],
        "error_messages": [str(note) for note in notes if note.level_tag == "error"],
        "last_active_ago": ago(membership.last_active, now) if membership.last_active else "",
        "person": membership,
        "status_label": Status(membership.status).label,
        "invite": invite,
        "deactivated_by": people_selectors.deactivated_by_email(membership=membership),
        "audit_events": people_selectors.person_audit_history(membership=membership),
        "api_keys": api_keys,
        "can_manage": can_manage,
        "is_me": is_me,
        # ?confirm=<action>: the question an action posted without the page script is asked on.
        "confirm_step": _confirmation(membership, request.GET.get("confirm"), request.GET.get("role"), is_me)
        if can_manage
        else None,
        "roles": Role.choices,
    }
    return render(request, "dashboard/person.html", context)


def _profile_context(request, **forms) -> dict:
    membership = membership_of(request.user)
    return {
        "membership": membership,
        "api_keys": selectors.api_keys_of(membership=membership) if membership is not None else [],
        "profile_form": forms.get("profile_form")
        or ProfileForm(initial={"name": request.user.name, "username": request.user.username}),
        "password_form": forms.get("password_form") or ProfilePasswordForm(request.user),
        "key_form": forms.get("key_form") or ApiKeyForm(),
        # A new key's secret, shown on the first page after its creation and never again.
        "new_key": request.session.pop(NEW_KEY_SESSION_KEY, None) if request.method == "GET" else None,
        # ?revoke=<id>: the confirmation a revocation without the page script is asked on.
        "key_to_revoke": _live_key(membership, request.GET.get("revoke")) if request.method == "GET" else None,
    }


def _live_key(membership, key_id) -> ApiKey | None:
    if membership is None or not str(key_id or "").isdigit():
        return None
    return ApiKey.objects.filter(pk=int(key_id), membership=membership, revoked_at__isnull=True).first()


NEW_KEY_SESSION_KEY = "profile_new_api_key"


@never_cache
@login_required
def profile_page(request):
    """Any member: name, username, password and personal API keys. Each form posts here with its
    ``form`` name and is redirected back (so a reload never repeats it); a new key's secret rides
    in the session to that one page and is dropped as it is shown."""
    if request.method != "POST":
        return render(request, "accounts/profile.html", _profile_context(request))
    form_name = request.POST.get("form")
    ip = client_ip(request)
    if form_name == "profile":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                people_services.profile_update(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    username=form.cleaned_data["username"],
                    ip_address=ip,
                )
            except InvalidInput as error:
                for field, errors in error.errors.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("profile")
        return render(request, "accounts/profile.html", _profile_context(request, profile_form=form), status=400)
    if form_name == "password":
        form = ProfilePasswordForm(request.user, request.POST)
        if form.is_valid():
            people_services.password_change(
                user=request.user, password=form.cleaned_data["new_password1"], ip_address=ip
            )
            update_session_auth_hash(request, request.user)  # this session stays signed in
            messages.success(request, "Your password is changed.")
            return redirect("profile")
        return render(request, "accounts/profile.html", _profile_context(request, password_form=form), status=400)
    membership = membership_of(request.user)
    if form_name == "key_create" and membership is not None:
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            api_key, secret = services.api_key_create(
                membership=membership, label=form.cleaned_data["label"], actor=request.user, ip_address=ip
            )
            request.session[NEW_KEY_SESSION_KEY] = {"label": api_key.label, "secret": secret}
            return redirect("profile")
        return render(request, "accounts/profile.html", _profile_context(request, key_form=form), status=400)
    if form_name == "key_revoke" and membership is not None:
        api_key = _live_key(membership, request.POST.get("key"))
        if api_key is None:
            messages.error(request, "That key does not exist or is already revoked.")
        elif request.POST.get("confirm") != "revoke":  # asked first (the page script asks in a dialog)
            return redirect(f"{reverse('profile')}?revoke={api_key.pk}#revoke-confirm")
        else:
            services.api_key_revoke(api_key=api_key, actor=request.user, ip_address=ip)
            messages.success(request, f"Revoked the key “{api_key.label or api_key.prefix}”. It stops working at once.")
        return redirect("profile")
    messages.error(request, "Unknown form.")
    return redirect("profile")
