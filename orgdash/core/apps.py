from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "orgdash.core"
    label = "core"
    verbose_name = "Organizations and users"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from orgdash.core.middleware import bind_session_to_org

        user_logged_in.connect(bind_session_to_org, dispatch_uid="orgdash.bind_session_to_org")
