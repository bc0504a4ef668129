"""Pages of an org's host served by accounts: sign-in, password reset, invites, the Users and Audit tabs."""

from django.urls import path

from accounts import views, views_audit, views_people

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.OrgLoginView.as_view(), name="login"),
    path("accounts/logout/", views.OrgLogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", views.PasswordResetRequestView.as_view(), name="password_reset"),
    path("accounts/password/reset/done/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/profile/", views_people.profile_page, name="profile"),
    path("org/dashboard/", views.users_tab, name="dashboard-users"),
    path("org/dashboard/users/<int:pk>/", views_people.person_page, name="dashboard-person"),
    path("invite/joined/", views.invite_joined, name="invite-joined"),
    path("invite/<str:token>/", views.invite_accept, name="invite-accept"),
    path("org/dashboard/audit/", views_audit.audit_tab, name="dashboard-audit"),
]
