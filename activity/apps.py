from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "activity"
    verbose_name = "Activity"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from activity.middleware import record_login

        user_logged_in.connect(record_login, dispatch_uid="activity.record_login")
