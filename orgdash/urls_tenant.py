"""URLs of an organization's host."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from accounts import views_audit as accounts_views_audit
from accounts import views_people as accounts_views_people
from activity import views as activity_views

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("accounts/login/", accounts_views.OrgLoginView.as_view(), name="login"),
    path("accounts/logout/", accounts_views.OrgLogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", accounts_views.PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/password/reset/done/", accounts_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/complete/",
        accounts_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        accounts_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/profile/", accounts_views_people.profile_page, name="profile"),
    path("org/dashboard/", accounts_views.users_tab, name="dashboard-users"),
    path("org/dashboard/users/<int:pk>/", accounts_views_people.person_page, name="dashboard-person"),
    path("invite/joined/", accounts_views.invite_joined, name="invite-joined"),
    path("invite/<str:token>/", accounts_views.invite_accept, name="invite-accept"),
    path("org/dashboard/activity/", activity_views.activity_tab, name="dashboard-activity"),
    path("org/dashboard/audit/", accounts_views_audit.audit_tab, name="dashboard-audit"),
    path("", include("hygiene.urls")),  # org/dashboard/settings/, still-here/<token>/
    path("api/v1/", include("orgdash.api.urls")),
    path("", include("scim.urls")),  # /scim/v2/ and the Provisioning settings page
    path("admin/", admin.site.urls),
]

handler403 = "orgdash.core.views.permission_denied"
handler404 = "orgdash.core.views.page_not_found"
