"""What SCIM adds to a membership: the identity provider's ``userName`` and ``externalId``."""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Membership


class ScimIdentity(models.Model):
    """The identity provider's names for a member. A member without one (added in orgdash) has
    their e-mail as ``userName``, so an identity provider can find and link them."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="scim_identity")
    user_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # The name as the identity provider gave it; the membership's ``name`` (the Users tab) is
    # the formatted name, else given and family name, else the display name.
    formatted_name = models.CharField(max_length=200, blank=True)
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    # The log-in e-mail's entry as sent (RFC 7643 §4.1.2 ``type`` and ``primary``).
    email_type = models.CharField(max_length=100, blank=True, default="work")
    email_primary = models.BooleanField(null=True, default=True)
    role_primary = models.BooleanField(null=True, default=True)
    # Set by a SCIM DELETE: the membership stays (deactivated, with its history) but is gone for
    # SCIM: 404, out of lists and of uniqueness checks (RFC 7644 §3.6); a new POST revives it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("user_name"), condition=models.Q(deleted_at=None), name="scimidentity_user_name_unique"
            )
        ]
        indexes = [
            models.Index(fields=["external_id"], name="scimidentity_external_id"),
            models.Index(
                fields=["membership"], condition=models.Q(deleted_at__isnull=False), name="scimidentity_deleted"
            ),
        ]

    def __str__(self) -> str:
        return self.user_name
