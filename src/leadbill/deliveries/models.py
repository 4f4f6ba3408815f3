"""Deliveries (one lead delivered to one buyer) and returns."""

from django.db import models


class Delivery(models.Model):
    # This is the table that takes a million rows a month, so every index and foreign-key
    # trigger is paid per row (benchmarks/import_deliveries.py: ~1.3 s per index and
    # ~3.5 s per foreign key per million rows on PostgreSQL). Single-column indexes on
    # entity and partner would duplicate the composite indexes below, and profile / lead
    # type are never searched alone, so they have none. The database checks the partner
    # reference (what a delivery is billed to); entity, profile, lead type and source are
    # resolved from their codes inside the importing transaction and are never deleted
    # (on_delete=PROTECT, no service deletes them), so they skip the per-row trigger.
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    external_id = models.CharField(max_length=120, help_text="idempotency key, unique per entity")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    profile = models.ForeignKey(
        "partners.Profile", null=True, blank=True, on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    lead_type = models.ForeignKey("catalog.LeadType", on_delete=models.PROTECT, db_index=False, db_constraint=False)
    lead_id = models.CharField(max_length=120)
    delivered_at = models.DateTimeField()
    price_micros = models.BigIntegerField(null=True, blank=True, help_text="delivered price, 1e-6 units")
    currency = models.CharField(max_length=3)
    fields = models.JSONField(default=dict, blank=True, help_text="the lead's own fields")
    source = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supplied",
        db_constraint=False,
    )
    cost_micros = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["entity", "external_id"], name="delivery_external_id_unique")]
        indexes = [
            models.Index(fields=["partner", "delivered_at"], name="delivery_partner_time"),
            models.Index(fields=["entity", "delivered_at"], name="delivery_entity_time"),
            models.Index(fields=["entity", "lead_id"], name="delivery_lead_id"),  # console search, portal returns
        ]

    def __str__(self) -> str:
        return self.external_id


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Return(models.Model):
    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            # A lead can be returned once: a rejected request may be followed by a new one.
            models.UniqueConstraint(
                fields=["delivery"],
                condition=models.Q(status__in=["requested", "accepted"]),
                name="one_open_return_per_delivery",
            )
        ]
        indexes = [models.Index(fields=["entity", "status"])]

    def __str__(self) -> str:
        return f"return of {self.delivery_id} ({self.status})"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DeliveryImport(models.Model):
    """A delivery CSV uploaded in the console, imported by a task through `deliveries_import`.

    The file waits here (not on one web server's disk) so any worker can run it; its bytes
    are dropped once imported, the result (counts and the first bad rows) stays.
    """

    entity = models.ForeignKey("entities.Entity", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    content = models.BinaryField(default=b"")
    size_bytes = models.BigIntegerField(default=0)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    bytes_read = models.BigIntegerField(default=0, help_text="progress, where the database lets a task report it")
    rows_read = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True, help_text="ImportResult.as_dict()")
    error = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["entity", "-created_at"], name="delivery_import_recent")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return min(99, self.bytes_read * 100 // self.size_bytes) if self.size_bytes else 0


class BillingSummary(models.Model):
    """Deliveries counted per partner, scope, local day and currency, by where they stand for billing.

    Maintained in the same transaction as every write that changes what it counts
    (imports, the API batch, single deliveries, returns, issue, void, discard;
    `deliveries.summary`), so previews, the dashboard, anomaly counts and delivery-log
    totals read partners × days rows instead of every delivery. `leadbill verify`
    recomputes it from the deliveries and reports any drift. The day is the delivery's
    local date in the entity's time zone; the plan version is resolved when read (a plan
    can be given a past start), see docs/decisions/0011-billing-summary.md.

    A delivery is billed (a non-void billed lead, issued or reserved by a draft), else
    returned (an accepted return), else excluded (left out over cap), else open. The states
    are columns of one row, not rows of their own: an issue moves a month of partner-days
    from open to billed with one update per row, not an update and an insert.
    """

    # No index of its own: the key and the day index lead with the entity, and every index is written
    # again by each row the issue moves from open to billed (docs/benchmarks.md).
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    profile_id = models.BigIntegerField(default=0, help_text="0: no profile (a unique key cannot hold NULL)")
    lead_type_id = models.BigIntegerField()
    day = models.DateField()
    currency = models.CharField(max_length=3)
    leads = models.BigIntegerField(default=0, help_text="every delivery")
    open_leads = models.BigIntegerField(default=0, help_text="not billed, returned or excluded")
    open_priced = models.BigIntegerField(default=0, help_text="open leads that carry a delivered price")
    open_price_micros = models.BigIntegerField(default=0, help_text="sum of the open leads' delivered prices")
    billed_leads = models.BigIntegerField(default=0)
    billed_minor = models.BigIntegerField(default=0, help_text="sum of their billed amounts")
    returned_leads = models.BigIntegerField(default=0, help_text="returned before billing")
    excluded_leads = models.BigIntegerField(default=0, help_text="left out over cap")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "partner", "profile_id", "lead_type_id", "day", "currency"],
                name="billing_summary_key",
            )
        ]
        indexes = [
            models.Index(fields=["entity", "day"], name="billing_summary_day"),
            # What a preview reads: the open rows, however old (partial: billed months drop out).
            models.Index(fields=["entity", "day"], name="billing_summary_open", condition=models.Q(open_leads__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.leads} ({self.open_leads} open)"


class RepeatSummary(models.Model):
    """Deliveries per partner and local day that repeat a lead already delivered to that partner.

    Kept apart from `BillingSummary` because being a repeat does not change with billing:
    it is counted once, when the repeat arrives.
    """

    # No index of its own: the key leads with the entity.
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    day = models.DateField()
    repeats = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "partner", "day"], name="repeat_summary_key")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.repeats}"
