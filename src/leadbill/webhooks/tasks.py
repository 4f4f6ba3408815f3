"""Background work of webhooks: one task per delivery, safe to run twice (the row is claimed first)."""

from __future__ import annotations

from django.tasks import task


@task
def webhook_deliver_task(delivery_id: int) -> str:
    from leadbill.webhooks.services import webhook_deliver

    return webhook_deliver(delivery_id)
