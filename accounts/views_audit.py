"""The Audit log tab of the dashboard: the page shell; rows come from ``GET /api/v1/audit/``."""

from django.shortcuts import render

from accounts.audit_selectors import AUDIT_PAGE_SIZE, audit_actions
from accounts.decorators import org_admin_required


@org_admin_required
def audit_tab(request):
    context = {
        "active_tab": "audit",
        "page_size": AUDIT_PAGE_SIZE,
        "actions": audit_actions(),
    }
    return render(request, "dashboard/audit.html", context)
