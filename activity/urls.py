"""Pages of an org's host served by activity: the Activity tab."""

from django.urls import path

from activity import views

urlpatterns = [
    path("org/dashboard/activity/", views.activity_tab, name="dashboard-activity"),
]
