"""Background work of scheduling: the bulk actions on a finished run (`run_actions`)."""

from __future__ import annotations

from typing import Any

from django.tasks import task


@task
def run_action_task(action_id: int) -> dict[str, Any]:
    """Email or archive a run's documents; safe to run twice."""
    from leadbill.scheduling.run_actions import run_action_work

    return run_action_work(action_id)
