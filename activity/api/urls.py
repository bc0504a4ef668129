from django.urls import path

from activity.api.views import (
    ActivityEngagementView,
    ActivityEventsView,
    ActivityExportView,
    ActivitySummaryView,
    ActivityTimeseriesView,
    ActivityTopUsersView,
    PersonActivityView,
    RunCreateView,
)

urlpatterns = [
    path("activity/summary/", ActivitySummaryView.as_view(), name="api-activity-summary"),
    path("activity/timeseries/", ActivityTimeseriesView.as_view(), name="api-activity-timeseries"),
    path("activity/top-users/", ActivityTopUsersView.as_view(), name="api-activity-top-users"),
    path("activity/engagement/", ActivityEngagementView.as_view(), name="api-activity-engagement"),
    path("activity/export.csv", ActivityExportView.as_view(), name="api-activity-export"),
    path("activity/events/", ActivityEventsView.as_view(), name="api-activity-events"),
    path("runs/", RunCreateView.as_view(), name="api-runs"),
    path("users/<int:pk>/activity/", PersonActivityView.as_view(), name="api-user-activity"),
]
