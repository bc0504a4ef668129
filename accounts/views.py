from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.generic import FormView, TemplateView

from accounts import password_services, services
from accounts.auth import is_org_admin, may_view_dashboard, membership_of
from accounts.decorators import org_admin_required
from accounts.forms import (
    InviteLoginForm,
    InviteSignupForm,
    OrgLoginForm,
    PasswordResetRequestForm,
    PasswordResetSetForm,
)
from accounts.login_protection import blocked_response, password_reset_request_record
from accounts.password_selectors import resettable_membership
from accounts.tokens import password_reset_token
from orgdash.core.client_address import client_ip


class OrgLoginView(auth_views.LoginView):
    form_class = OrgLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        # Admins land on the dashboard; members and viewers on their own page (the dashboard is 403).
        return "/org/dashboard/" if may_view_dashboard(self.request.user) else "/"


class OrgLogoutView(auth_views.LogoutView):
    """Logging out is a POST (a link or a prefetch must not sign anyone out); the address opened
    in a browser asks first, or says the visitor is already logged out."""

    http_method_names = ["get", "head", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "accounts/logout.html")


class PasswordResetRequestView(FormView):
    """Anyone asks for a reset e-mail for their account in this org; the answer is the same page
    whether or not the address belongs to a member. Limited per address and org."""

    form_class = PasswordResetRequestForm
    template_name = "accounts/password_reset_form.html"

    def form_valid(self, form):
        address = client_ip(self.request)
        block = password_reset_request_record(schema_name=connection.schema_name, address=address)
        if block is not None:
            return blocked_response(self.request, block)
        password_services.password_reset_request(email=form.cleaned_data["email"], ip_address=address)
        return redirect("password_reset_done")


class PasswordResetDoneView(TemplateView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the e-mail: Django's single-use, expiring token, bound to this org, for a
    joined member only (a deactivated one gets the invalid-link page)."""

    form_class = PasswordResetSetForm
    template_name = "accounts/password_reset_confirm.html"
    token_generator = password_reset_token
    success_url = reverse_lazy("password_reset_complete")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if resettable_membership(user=user) is not None else None

    def form_valid(self, form):
        password_services.password_reset_complete(
            user=form.user, password=form.cleaned_data["new_password1"], ip_address=client_ip(self.request)
        )
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        return redirect(self.success_url)


class PasswordResetCompleteView(TemplateView):
    template_name = "accounts/password_reset_complete.html"


USERS_PAGE_SIZE = 50
# Placeholder rows drawn by the server so the table keeps its height while the first page loads.
USERS_SKELETON_ROWS = 12


@org_admin_required
def users_tab(request):
    context = {
        "active_tab": "users",
        "can_manage": request.user.is_staff or is_org_admin(request.user),
        "page_size": USERS_PAGE_SIZE,
        "skeleton_rows": range(USERS_SKELETON_ROWS),
    }
    return render(request, "dashboard/users.html", context)


def home(request):
    """The org host's front page: admins go to the dashboard, members see where they stand."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if may_view_dashboard(request.user):
        return redirect("dashboard-users")
    return render(request, "accounts/member_home.html", {"membership": membership_of(request.user)})


INVITE_ERRORS = {
    # Unknown and already-used links look the same: a link tells nothing about who was invited.
    "unknown": (
        404,
        "This invite link is not valid",
        "It may have been used already, cancelled or replaced by a newer invite.",
    ),
    "expired": (410, "This invite link has expired", "Ask an admin of the organization to send you a new invite."),
    "already_member": (404, "You are already a member", "Log in to the organization instead."),
}
MEMBERSHIP_BACKEND = "accounts.auth.OrganizationMembershipBackend"


def _invite_error(request, reason: str):
    status, title, message = INVITE_ERRORS.get(reason, INVITE_ERRORS["unknown"])
    return render(request, "accounts/invite_error.html", {"title": title, "message": message}, status=status)


@never_cache
@csrf_protect
def invite_accept(request, token: str):
    """Accept an invite: a new person creates their account, an existing one enters their password."""
    try:
        invite = services.invite_for_token(token)
    except services.InviteInvalid as error:
        return _invite_error(request, error.reason)
    email = invite.membership.email
    existing_user = get_user_model().objects.filter(email__iexact=email).first()
    form_class = InviteLoginForm if existing_user is not None else InviteSignupForm
    form_kwargs = {"user": existing_user} if existing_user is not None else {"email": email}
    form = form_class(request.POST or None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            if existing_user is not None:
                membership = services.invite_accept(token=token, user=existing_user, ip_address=client_ip(request))
            else:
                membership = services.invite_accept(
                    token=token,
                    name=form.cleaned_data["name"],
                    password=form.cleaned_data["password1"],
                    ip_address=client_ip(request),
                )
        except services.InviteInvalid as error:
            if error.reason != "account_exists":
                return _invite_error(request, error.reason)
            return redirect(request.path)  # an account appeared meanwhile: show the password form
        auth_login(request, membership.user, backend=MEMBERSHIP_BACKEND)
        return redirect("dashboard-users" if membership.is_admin else "invite-joined")
    role = invite.membership.get_role_display()
    context = {"form": form, "email": email, "existing_user": existing_user, "role": role}
    return render(request, "accounts/invite_accept.html", context)


@login_required
def invite_joined(request):
    return render(request, "accounts/invite_joined.html", {"membership": getattr(request.user, "membership", None)})
