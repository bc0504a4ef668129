"""URLs of an organization's host. Apps are included by name: the shared core imports no app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # First: every API call is resolved, and no page's route starts with api/v1/.
    path("api/v1/", include("orgdash.api.urls")),
    path("", include("accounts.urls")),
    path("", include("activity.urls")),
    path("", include("hygiene.urls")),  # org/dashboard/settings/, still-here/<token>/
    path("", include("scim.urls")),  # /scim/v2/ and the Provisioning settings page
    path("admin/", admin.site.urls),
]

handler403 = "orgdash.core.views.permission_denied"
handler404 = "orgdash.core.views.page_not_found"
