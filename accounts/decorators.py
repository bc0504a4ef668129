from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.audit_services import staff_view_record
from accounts.auth import may_view_dashboard


def org_admin_required(view):
    """Org admins and support staff only: anonymous users go to login, everyone else gets 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_view_dashboard(request.user):
            raise PermissionDenied("Only organization admins can open the dashboard.")
        if request.user.is_staff:
            staff_view_record(request=request)
        return view(request, *args, **kwargs)

    # Declared access policy, read by the isolation tests (tests/security/test_isolation_matrix.py).
    wrapper.access_policy = "org_admin"
    return wrapper
