from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Members, invites and API keys"

    def ready(self):
        # Log-in protection counts failed log-ins and clears them on success (signal receivers).
        from accounts import login_protection  # noqa: F401
