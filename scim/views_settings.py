"""The Provisioning page of the org settings: the SCIM base URL and the org's SCIM token.

Making a token posts here and is redirected back, so a reload or back/forward never makes another;
the new secret rides in the session to that one page and is dropped as it is shown (as on the
profile page for personal keys). Replacing a live token needs an explicit ``confirm=rotate``: a post
without it changes nothing and leads to the confirm step (``?confirm=rotate``), which works
without JavaScript; with it, the page asks in a dialog instead."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.decorators import org_admin_required
from accounts.selectors import scim_token_current
from accounts.services import scim_token_rotate
from orgdash.core.client_address import client_ip

NEW_KEY_SESSION_KEY = "scim_new_key"  # the SCIM token is an ApiKey of kind scim
CONFIRM_ROTATE = "rotate"


@never_cache
@org_admin_required
@require_http_methods(["GET", "POST"])
def provisioning(request):
    if request.method == "POST":
        return _token_create_or_rotate(request)
    token = scim_token_current()
    new_token = request.session.pop(NEW_KEY_SESSION_KEY, None)
    # Two posts racing (a double click, another admin) leave one live token: a secret the
    # following rotation revoked is useless, so it is not offered for pasting.
    superseded = new_token is not None and (token is None or token.pk != new_token["id"])
    context = {
        "active_tab": "settings",
        "base_url": request.build_absolute_uri(reverse("scim-root")).rstrip("/"),
        "token": token,
        "new_token": None if superseded else new_token,
        "superseded": superseded,
        "confirm_rotate": token is not None and request.GET.get("confirm") == CONFIRM_ROTATE,
        "confirm_value": CONFIRM_ROTATE,
    }
    return render(request, "scim/provisioning.html", context)


def _token_create_or_rotate(request):
    replaced = scim_token_current() is not None
    if replaced and request.POST.get("confirm") != CONFIRM_ROTATE:
        # The live token would stop working at once, cutting off the identity provider.
        return redirect(f"{reverse('scim-provisioning')}?confirm={CONFIRM_ROTATE}")
    token, secret = scim_token_rotate(actor=request.user, ip_address=client_ip(request))
    request.session[NEW_KEY_SESSION_KEY] = {"id": token.pk, "secret": secret, "replaced": replaced}
    return redirect("scim-provisioning")


provisioning.access_policy = "org_admin"
