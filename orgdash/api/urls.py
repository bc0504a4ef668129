from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from orgdash.api.views import not_found

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("activity.api.urls")),
    path("", include("hygiene.api.urls")),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="api-schema"),
    # Last: any other path under api/v1/ is a JSON 404.
    re_path(r"^(?P<path>.*)$", not_found, name="api-not-found"),
]
