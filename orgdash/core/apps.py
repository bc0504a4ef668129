from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "orgdash.core"
    label = "core"
    verbose_name = "Organizations and users"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from orgdash.core.middleware import bind_session_to_org, tenant_cache
        from orgdash.core.models import Domain, Organization

        user_logged_in.connect(bind_session_to_org, dispatch_uid="orgdash.bind_session_to_org")
        # A host's cached org must not outlive a change to the org or its domains (in this process).
        for model in (Organization, Domain):
            for signal in (post_save, post_delete):
                signal.connect(tenant_cache.clear, sender=model, dispatch_uid=f"orgdash.tenant_cache.{model.__name__}")
