from django.urls import path

from hygiene import views

urlpatterns = [
    path("org/dashboard/settings/", views.settings_tab, name="dashboard-settings"),
    path("still-here/<str:token>/", views.keep_access, name="hygiene-keep-access"),
]
