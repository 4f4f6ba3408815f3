"""API keys: one entity each, a scope, and only a hash of the secret is kept."""

from django.db import models


class Scope(models.TextChoices):
    INGEST = "ingest", "Ingest: push deliveries and returns"
    FULL = "full", "Full: everything of the entity"
    PARTNER = "partner", "Partner: read one partner's own documents and report"


class ApiKey(models.Model):
    """A key is `lb_<prefix>_<secret>`: the prefix finds the row, the secret's SHA-256 proves it.

    The secret is 32 random bytes, so a fast hash is enough (no password stretching is
    needed for a value nobody can guess), and checking a key costs one indexed lookup.
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="api_keys")
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    prefix = models.CharField(max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scope="partner") & models.Q(partner__isnull=False))
                | (~models.Q(scope="partner") & models.Q(partner__isnull=True)),
                name="api_key_partner_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, lb_{self.prefix}_…)"

    @property
    def actor(self) -> str:
        """How the key's writes appear in the audit trail."""
        return f"api:{self.prefix}"
