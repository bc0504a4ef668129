"""URLs of the public host (the bare base domain): support staff's Django admin, no org data."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]

handler403 = "orgdash.core.views.permission_denied"
handler404 = "orgdash.core.views.page_not_found"
