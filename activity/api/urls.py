from django.urls import path

from activity.api.views import (
    ActivityEngagementApi,
    ActivityEventsApi,
    ActivityExportApi,
    ActivitySummaryApi,
    ActivityTimeseriesApi,
    ActivityTopUsersApi,
    RunCreateApi,
    UserActivityApi,
)

urlpatterns = [
    path("activity/summary/", ActivitySummaryApi.as_view(), name="api-activity-summary"),
    path("activity/timeseries/", ActivityTimeseriesApi.as_view(), name="api-activity-timeseries"),
    path("activity/top-users/", ActivityTopUsersApi.as_view(), name="api-activity-top-users"),
    path("activity/engagement/", ActivityEngagementApi.as_view(), name="api-activity-engagement"),
    path("activity/export.csv", ActivityExportApi.as_view(), name="api-activity-export"),
    path("activity/events/", ActivityEventsApi.as_view(), name="api-activity-events"),
    path("runs/", RunCreateApi.as_view(), name="api-runs"),
    path("users/<int:pk>/activity/", UserActivityApi.as_view(), name="api-user-activity"),
]
