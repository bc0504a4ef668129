"""URLs of an organization's host. Apps are included by name: the shared core imports no app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("activity.urls")),
    path("api/v1/", include("orgdash.api.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "orgdash.core.views.permission_denied"
handler404 = "orgdash.core.views.page_not_found"
