"""Stored bytes: images the documents print (logos) and the documents as first delivered."""

from django.db import models


class Asset(models.Model):
    """An image addressed by its SHA-256, so a document issued with a logo keeps that logo.

    Entities and partners point at an asset by hash; replacing a logo adds a new asset and
    never changes the bytes an issued document refers to.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    media_type = models.CharField(max_length=40)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.media_type} {self.sha256[:12]}"


class Format(models.TextChoices):
    PDF = "pdf", "PDF"
    FACTURX = "facturx", "Factur-X PDF"
    UBL = "ubl", "UBL XML"


class ArchivedDocument(models.Model):
    """The bytes of an issued document in one format, kept from the first time it was produced.

    Rendering is deterministic, but templates, fonts and libraries change over the years;
    what was sent to a partner must be what we can show again (STYLE 11). One row per
    document (an invoice or a self-billed document) and format, enforced by the database.
    """

    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="archived"
    )
    self_billed = models.ForeignKey(
        "selfbilling.SelfBilledDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="archived"
    )
    format = models.CharField(max_length=10, choices=Format.choices)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "format"], name="one_archive_per_format"),
            models.UniqueConstraint(fields=["self_billed", "format"], name="one_self_billed_archive_per_format"),
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=False, self_billed__isnull=True)
                | models.Q(invoice__isnull=True, self_billed__isnull=False),
                name="archive_of_one_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} of {'invoice' if self.invoice_id else 'self-billed document'} {self.invoice_id or self.self_billed_id}"
