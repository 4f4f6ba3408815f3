"""Who may sign in to what: staff memberships per entity, partner users, failed sign-ins."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    """Staff roles, weakest first: each can do what the ones before it can."""

    READONLY = "readonly", "Read-only"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.READONLY: 0, Role.FINANCE: 1, Role.ADMIN: 2}


class StaffMembership(models.Model):
    """A staff user's role in one entity; the console shows only entities the user is a member of."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "entity"], name="one_membership_per_entity")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} in {self.entity_id}"

    def can(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class PartnerUser(models.Model):
    """A partner's user: signs in to the portal and sees that one partner only.

    One partner per user (a database constraint), so every portal query is scoped by
    the user alone; a person working for two partners has two logins.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_access")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="users")
    is_main_contact = models.BooleanField(default=False)
    invited_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} for {self.partner_id}"


class LoginFailure(models.Model):
    """One throttled try (a failed sign-in or a password reset request), counted per account and per address.

    `username` is `leadbill.web.throttle.account_key` of the typed name, so look-alike spellings
    of one account are one account here.
    """

    username = models.CharField(max_length=254)
    address = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, default="signin")  # throttle.SIGN_IN or throttle.PASSWORD_RESET
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"]), models.Index(fields=["address", "at"])]
