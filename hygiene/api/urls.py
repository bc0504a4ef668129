from django.urls import path

from hygiene.api import views

urlpatterns = [
    path("settings/dormancy/", views.DormancySettingsApi.as_view(), name="api-settings-dormancy"),
    path("settings/dormancy/preview/", views.DormancyPreviewApi.as_view(), name="api-settings-dormancy-preview"),
    path("settings/reports/", views.ReportSettingsApi.as_view(), name="api-settings-reports"),
    path("settings/reports/send/", views.ReportSendApi.as_view(), name="api-settings-reports-send"),
]
