"""Pages: one person (``/org/dashboard/users/<id>/``) and one's own profile (``/accounts/profile/``)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts import people_selectors, people_services, selectors, services
from accounts.auth import is_org_admin, membership_of
from accounts.decorators import org_admin_required
from accounts.forms import ApiKeyForm, ProfileForm, ProfilePasswordForm
from accounts.models import ApiKey, Role, Status
from orgdash.core.client_address import client_ip
from orgdash.errors import InvalidInput


@org_admin_required
def person_page(request, pk: int):
    membership = selectors.membership_get(pk=pk)
    if membership is None:
        raise Http404("No such person in this organization.")
    invite = None
    if membership.status == Status.INVITE_PENDING and hasattr(membership, "invite"):
        invite = people_selectors.invite_delivery(
            expires_at=membership.invite.expires_at,
            sent_at=membership.invite.sent_at,
            send_attempts=membership.invite.send_attempts,
            last_send_error=membership.invite.last_send_error,
            now=timezone.now(),
        )
    own = membership_of(request.user)
    context = {
        "active_tab": "users",
        "person": membership,
        "status_label": Status(membership.status).label,
        "invite": invite,
        "deactivated_by": people_selectors.deactivated_by_email(membership=membership),
        "audit_events": people_selectors.person_audit_history(membership=membership),
        "api_keys": people_selectors.person_api_keys(membership=membership),
        "can_manage": request.user.is_staff or is_org_admin(request.user),
        "is_me": own is not None and own.pk == membership.pk,
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
