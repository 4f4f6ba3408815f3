"""Which queue each background task runs on: the one place that says so.

Workers choose queues (`leadbill worker --queue email`), so a deployment can give
rendering its own machines and keep email and webhooks moving during a long run.
"""

from __future__ import annotations

RUNS, DOCUMENTS, EMAIL, WEBHOOKS, DEFAULT = "runs", "documents", "email", "webhooks", "default"
ALL = (RUNS, DOCUMENTS, EMAIL, WEBHOOKS, DEFAULT)

QUEUES: dict[str, str] = {
    "leadbill.invoicing.tasks.invoice_run_task": RUNS,
    "leadbill.invoicing.tasks.invoice_run_chunk_task": RUNS,
    "leadbill.scheduling.tasks.run_action_task": DOCUMENTS,  # email or archive a finished run's documents
    "leadbill.selfbilling.tasks.self_billed_archive_task": DOCUMENTS,
    "leadbill.mailing.tasks.email_send_task": EMAIL,
    "leadbill.webhooks.tasks.webhook_deliver_task": WEBHOOKS,
    "leadbill.deliveries.tasks.delivery_import_task": DEFAULT,  # a console upload
    "leadbill.engine.periodic.tick": DEFAULT,  # the scheduler's tick (periodic, see engine.app)
}

# Tasks that moved, old path -> new: a job queued under the old name before an upgrade still runs.
MOVED: dict[str, str] = {
    "leadbill.payouts.tasks.self_billed_archive_task": "leadbill.selfbilling.tasks.self_billed_archive_task",
}


def queue_of(task_path: str) -> str:
    """The queue of a task by its dotted path; an unmapped task is a mistake, caught by a test."""
    return QUEUES.get(task_path, DEFAULT)
