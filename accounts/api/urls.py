from django.urls import path

from accounts.api import views

urlpatterns = [
    path("users/", views.UserListApi.as_view(), name="api-users"),
    # Before users/<pk>/ so these names never read as an id.
    path("users/counts/", views.UserCountsApi.as_view(), name="api-users-counts"),
    path("users/export.csv", views.UserExportApi.as_view(), name="api-users-export"),
    path("users/bulk/", views.UserBulkApi.as_view(), name="api-users-bulk"),
    path("users/<int:pk>/", views.UserDetailApi.as_view(), name="api-user"),
    path("users/<int:pk>/deactivate/", views.UserDeactivateApi.as_view(), name="api-user-deactivate"),
    path("users/<int:pk>/reactivate/", views.UserReactivateApi.as_view(), name="api-user-reactivate"),
    path("invites/", views.InviteCreateApi.as_view(), name="api-invites"),
    path("invites/<int:pk>/", views.InviteDetailApi.as_view(), name="api-invite"),
    path("invites/<int:pk>/resend/", views.InviteResendApi.as_view(), name="api-invite-resend"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("api-keys/", views.ApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<int:pk>/", views.ApiKeyDetailApi.as_view(), name="api-key"),
    # The audit trail is read-only: a list and its CSV export.
    path("audit/", views.AuditListApi.as_view(), name="api-audit-list"),
    path("audit/export.csv", views.AuditExportApi.as_view(), name="api-audit-export"),
]
