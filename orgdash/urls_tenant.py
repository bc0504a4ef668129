"""URLs of an organization's host."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from accounts import views_audit as accounts_views_audit
from activity import views as activity_views

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("accounts/login/", accounts_views.OrgLoginView.as_view(), name="login"),
    path("accounts/logout/", accounts_views.OrgLogoutView.as_view(), name="logout"),
    path("org/dashboard/", accounts_views.users_tab, name="dashboard-users"),
    path("invite/joined/", accounts_views.invite_joined, name="invite-joined"),
    path("invite/<str:token>/", accounts_views.invite_accept, name="invite-accept"),
    path("org/dashboard/activity/", activity_views.activity_tab, name="dashboard-activity"),
    path("org/dashboard/audit/", accounts_views_audit.audit_tab, name="dashboard-audit"),
    path("", include("hygiene.urls")),  # org/dashboard/settings/, still-here/<token>/
    path("api/v1/", include("orgdash.api.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "orgdash.core.views.permission_denied"
handler404 = "orgdash.core.views.page_not_found"
