"""Background work of mailing: one task per send, safe to run twice (the row is claimed first)."""

from __future__ import annotations

from django.tasks import task


@task
def email_send_task(send_id: int) -> str:
    from leadbill.mailing.services import email_deliver

    return email_deliver(send_id)
