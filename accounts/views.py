from django.contrib.auth import views as auth_views
from django.shortcuts import render

from accounts.forms import OrgLoginForm
from orgdash.core.decorators import org_admin_required


class OrgLoginView(auth_views.LoginView):
    form_class = OrgLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class OrgLogoutView(auth_views.LogoutView):
    pass


@org_admin_required
def users_tab(request):
    return render(request, "dashboard/users.html", {"active_tab": "users"})


def home(request):
    from django.shortcuts import redirect

    return redirect("dashboard-users")
