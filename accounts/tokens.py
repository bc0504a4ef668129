"""The password reset link's token: Django's (single use because it hashes the password and last
log-in; expires after ``PASSWORD_RESET_TIMEOUT``), bound to the org it was asked for in."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection


class OrgPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "orgdash.accounts.tokens.OrgPasswordResetTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        # A link asked for at one org's host does nothing at another's.
        return f"{connection.schema_name}:{super()._make_hash_value(user, timestamp)}"


password_reset_token = OrgPasswordResetTokenGenerator()
