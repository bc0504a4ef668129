"""The SCIM 2.0 endpoints at ``/scim/v2/`` (RFC 7644 §3.2; names are case-sensitive there) and
the Provisioning page of the org settings."""

from django.urls import path, re_path

from scim import views, views_settings

SCIM = "scim/v2/"

urlpatterns = [
    path("org/dashboard/settings/provisioning/", views_settings.provisioning, name="scim-provisioning"),
    path(SCIM, views.NotFoundView.as_view(), name="scim-root"),
    path(
        f"{SCIM}ServiceProviderConfig", views.ServiceProviderConfigView.as_view(), name="scim-service-provider-config"
    ),
    path(f"{SCIM}ResourceTypes", views.ResourceTypesView.as_view(), name="scim-resource-types"),
    path(f"{SCIM}ResourceTypes/<str:resource_id>", views.ResourceTypesView.as_view(), name="scim-resource-type"),
    path(f"{SCIM}Schemas", views.SchemasView.as_view(), name="scim-schemas"),
    path(f"{SCIM}Schemas/<str:schema_id>", views.SchemasView.as_view(), name="scim-schema"),
    path(f"{SCIM}.search", views.SearchView.as_view(), name="scim-search"),
    path(f"{SCIM}Users/.search", views.SearchView.as_view(), name="scim-users-search"),
    path(f"{SCIM}Users", views.UsersView.as_view(), name="scim-users"),
    path(f"{SCIM}Users/<str:resource_id>", views.UserView.as_view(), name="scim-user"),
    re_path(r"^scim/v2/(?P<rest>.+)$", views.NotFoundView.as_view(), name="scim-not-found"),
]
