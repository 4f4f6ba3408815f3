"""Background work of invoicing, through Django's task framework.

Inline by default (the embedded set-up runs the task as it is enqueued); a deployment
that sets a worker backend runs it on a worker without code change.
"""

from __future__ import annotations

import logging

from django.tasks import task
from django.utils import timezone

from leadbill.domain import periods
from leadbill.invoicing.models import InvoiceRun

logger = logging.getLogger(__name__)
RUN_BATCH = 500  # partners per transaction: also how often the progress bar moves


@task
def invoice_run_task(run_id: int, draft: bool = False) -> dict[str, int]:
    from leadbill.invoicing.services import invoice_run_issue

    run = InvoiceRun.objects.select_related("entity").get(pk=run_id)
    if run.finished_at is not None:
        return {"issued": len(run.summary.get("issued", []))}  # a redelivered task does nothing twice
    entity = run.entity
    period = periods.parse(run.period_key, entity.timezone)
    try:
        result = invoice_run_issue(actor=run.actor, entity=entity, period=period, draft=draft, run=run,
                                   batch_size=RUN_BATCH)  # fmt: skip
    except Exception as exc:
        logger.exception("invoice run %s failed", run_id)
        InvoiceRun.objects.filter(pk=run_id).update(
            finished_at=timezone.now(), summary={**run.summary, "error": f"{type(exc).__name__}: {exc}"}
        )
        raise
    return {"issued": len(result.issued), "failures": len(result.failures)}
