"""The Audit log tab of the dashboard: the page shell; rows come from ``GET /api/v1/audit/``."""

import json

from django.shortcuts import render

from accounts.audit_selectors import AUDIT_PAGE_SIZE, audit_actions
from accounts.decorators import org_admin_required
from accounts.models import AUDIT_ACTION_LABELS


@org_admin_required
def audit_tab(request):
    context = {
        "active_tab": "audit",
        "page_size": AUDIT_PAGE_SIZE,
        "actions": audit_actions(),
        # JSON in a data attribute: the page runs no inline script (its CSP allows none).
        "action_labels": json.dumps({str(code): label for code, label in AUDIT_ACTION_LABELS.items()}),
    }
    return render(request, "dashboard/audit.html", context)
