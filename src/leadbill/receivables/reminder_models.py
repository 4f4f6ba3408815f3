"""Reminders (dunning): the entity's policy of steps, and partners whose reminders are paused.

A reminder is an `EmailSend` with purpose "reminder:<step>" on its invoice; the mailing
table's unique (invoice, purpose) makes each step go out at most once, whoever ticks.
"""

from django.db import models

DEFAULT_STEPS = [
    {"days": -3, "subject": "$number is due on $due_date",
     "body": "Hello,\n\na friendly note: $kind_lower $number of $seller ($open open) is due on $due_date.\n"
             "Please quote $payment_reference with your payment.\n\nThank you,\n$seller\n"},
    {"days": 7, "subject": "Reminder: $number is $days_overdue days overdue",
     "body": "Hello,\n\n$kind_lower $number of $seller was due on $due_date; $open is still open.\n"
             "Please pay it, quoting $payment_reference. Your statement of account is attached.\n\n"
             "If you have paid already, thank you and please ignore this message.\n\n$seller\n"},
    {"days": 14, "subject": "Second reminder: $number is $days_overdue days overdue",
     "body": "Hello,\n\n$open is still open on $kind_lower $number, due on $due_date.\n"
             "Please pay it now, quoting $payment_reference, or tell us why it is disputed.\n\n$seller\n"},
    {"days": 30, "subject": "Final reminder: $number is $days_overdue days overdue",
     "body": "Hello,\n\n$open on $kind_lower $number has been overdue for $days_overdue days.\n"
             "Unless it is paid, quoting $payment_reference, we may pause lead deliveries.\n\n$seller\n"},
]  # fmt: skip


class ReminderPolicy(models.Model):
    entity = models.OneToOneField("entities.Entity", on_delete=models.CASCADE, related_name="reminder_policy")
    enabled = models.BooleanField(default=False)
    steps = models.JSONField(
        default=list, help_text="[{days, subject, body}]: days after the due date (negative: before)"
    )
    attach_statement = models.BooleanField(default=True, help_text="attach the statement of account to reminders")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reminders of {self.entity_id}"


class ReminderPause(models.Model):
    """Reminders to this partner are paused (a dispute being talked through, a payment plan)."""

    partner = models.OneToOneField("partners.Partner", on_delete=models.CASCADE, related_name="reminder_pause")
    reason = models.CharField(max_length=300)
    paused_by = models.CharField(max_length=200)
    paused_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reminders paused for {self.partner_id}"
