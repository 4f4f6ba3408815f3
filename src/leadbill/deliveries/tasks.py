"""Background work of deliveries: a console upload imported by a worker."""

from __future__ import annotations

from django.tasks import task


@task
def delivery_import_task(upload_id: int) -> str:
    """Import an uploaded delivery CSV (`services.delivery_import_run`); returns its final state."""
    from leadbill.deliveries.services import delivery_import_run

    return delivery_import_run(upload_id).state
