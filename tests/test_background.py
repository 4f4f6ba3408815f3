"""Services queue tasks by name (leadbill.background), so no service imports a tasks module."""

import pytest

from leadbill.background import task_named
from leadbill.mailing.tasks import email_send_task
from leadbill.webhooks.tasks import webhook_deliver_task


def test_a_task_is_found_by_its_function_name_in_its_apps_tasks_module():
    assert task_named("email_send_task") is email_send_task
    assert task_named("webhook_deliver_task") is webhook_deliver_task


def test_a_name_no_app_defines_is_an_error_at_once():
    with pytest.raises(LookupError, match="no installed app has a task named 'email_sned_task'"):
        task_named("email_sned_task")
