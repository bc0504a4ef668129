"""The Provisioning page of the org settings: the SCIM base URL and the org's SCIM token."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.decorators import org_admin_required
from accounts.selectors import scim_token_current
from accounts.services import scim_token_rotate


@org_admin_required
@require_http_methods(["GET", "POST"])
def provisioning(request):
    new_secret, replaced = None, False
    if request.method == "POST":
        replaced = scim_token_current() is not None
        _, new_secret = scim_token_rotate(actor=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    context = {
        "active_tab": "settings",
        "base_url": request.build_absolute_uri(reverse("scim-root")).rstrip("/"),
        "token": scim_token_current(),
        "new_secret": new_secret,
        "replaced": replaced,
    }
    if request.method == "POST":
        # Rendered, not redirected: the secret exists only in this response.
        response = render(request, "scim/provisioning.html", context)
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "scim/provisioning.html", context)


provisioning.access_policy = "org_admin"
