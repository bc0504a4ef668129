"""Shared (public schema) models: organizations, their domains, and the global user identity."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin


class Organization(TenantMixin):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    auto_create_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"


class Domain(DomainMixin):
    def __str__(self) -> str:
        return self.domain


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        email = self.normalize_email(email).lower()
        extra_fields.setdefault("username", email.split("@")[0])
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """One login for a person across every organization they belong to."""

    email = models.EmailField(unique=True)
    username = models.CharField(max_length=150, unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Support staff: may use Django admin and open any organization."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    class Meta:
        ordering = ["email"]
        # Activity ingestion finds people by username in any case, as it does by e-mail.
        indexes = [models.Index(Lower("username"), name="core_user_username_lower")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.username


class LoginThrottle(models.Model):
    """Failed log-ins (or password reset requests) counted for one key of one org, and the block
    they caused. Kept in PostgreSQL, beside the users a log-in reads anyway: a Redis restart or
    outage neither lifts a lock nor locks anyone out (see ``accounts.login_protection``)."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", "account from an address"
        ADDRESS = "address", "address"
        RESET = "reset", "password reset requests from an address"

    schema_name = models.CharField(max_length=63)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    account = models.CharField(max_length=254, blank=True, default="")  # lower-cased e-mail; "" for an address
    address = models.CharField(max_length=45, blank=True, default="")  # "" when the address is unknown
    window_started_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schema_name", "scope", "account", "address"], name="core_loginthrottle_one_row_per_key"
            )
        ]
        indexes = [models.Index(fields=["window_started_at"], name="core_loginthr_window_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name} {self.scope} {self.account} {self.address}".strip()


class OrganizationStats(models.Model):
    """Org-level figures kept in the public schema by each org's activity refresh, so instance-wide
    pages (the admin org list, the overview) never read an org's schema; plus what the per-minute
    dispatcher needs to visit only the orgs that changed."""

    organization = models.OneToOneField(Organization, primary_key=True, on_delete=models.CASCADE, related_name="stats")
    members = models.PositiveIntegerField(default=0, help_text="Joined members (active or not, not deactivated).")
    pending_invites = models.PositiveIntegerField(default=0)
    active_30d = models.PositiveIntegerField(default=0, help_text="Members active in the last 30 days.")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # When the last successful refresh started, and the UTC day its windows end on.
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refreshed_day = models.DateField(null=True, blank=True)
    # Durable change mark, written only when Redis (the usual dirty set) is unreachable; a refresh
    # clears it when it started after the mark.
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "organization stats"
        indexes = [
            models.Index(fields=["members"], name="orgstats_members"),
            models.Index(fields=["active_30d"], name="orgstats_active_30d"),
            models.Index(fields=["last_activity_at"], name="orgstats_last_activity"),
            models.Index(fields=["refreshed_day"], name="orgstats_refreshed_day"),
            models.Index(fields=["changed_at"], name="orgstats_changed", condition=models.Q(changed_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"figures of {self.organization_id}"


class SpareSchema(models.Model):
    """An org schema copied from the template ahead of time, which a new org takes by renaming it
    (``orgdash/core/spare_schemas.py``). Not an org: nothing that lists orgs sees it."""

    schema_name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.schema_name
