"""Pages of seat hygiene: the org settings page (admins) and the "I still need access" link of a
dormancy warning (anyone holding the link)."""

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.decorators import org_admin_required
from accounts.models import Role
from hygiene import selectors, services
from hygiene.models import AFTER_DAYS_MAX, AFTER_DAYS_MIN, WARN_DAYS_MAX, WARN_DAYS_MIN, ReportFrequency


def _optional_url(name: str) -> str | None:
    """A page another part of the product may not have yet (provisioning): linked only when it exists."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@org_admin_required
def settings_tab(request):
    policy = selectors.dormancy_policy_get()
    reports = selectors.report_settings_get()
    context = {
        "active_tab": "settings",
        "policy": policy,
        "reports": reports,
        "roles": Role.choices,
        "frequencies": ReportFrequency.choices,
        "bounds": {
            "after_min": AFTER_DAYS_MIN,
            "after_max": AFTER_DAYS_MAX,
            "warn_min": WARN_DAYS_MIN,
            "warn_max": WARN_DAYS_MAX,
        },
        "admin_emails": selectors.active_admin_emails(),
        "provisioning_url": _optional_url("scim-provisioning"),
        "last_week": selectors.policy_week(now=timezone.now()),
    }
    return render(request, "dashboard/settings.html", context)


KEEP_ERRORS = {
    "unknown": ("This link does not work", "The link is unknown. Log in to use orgdash: that keeps your access too."),
    "deactivated": (
        "Your access was already removed",
        "Ask an admin of the organization to restore your access.",
    ),
}


@never_cache
@require_http_methods(["GET", "POST"])
def keep_access(request, token: str):
    """GET shows a button, POST records it: a link scanner that follows e-mailed links must not
    count as the person saying they still need access."""
    if request.method == "POST":
        try:
            services.dormancy_keep_access(token=token)
        except services.KeepAccessInvalid as exc:
            title, message = KEEP_ERRORS[exc.reason]
            return render(request, "hygiene/keep_access.html", {"error": True, "title": title, "message": message})
        return render(request, "hygiene/keep_access.html", {"kept": True, "title": "Your access is kept"})
    return render(request, "hygiene/keep_access.html", {"error": False, "title": "Do you still need access?"})
