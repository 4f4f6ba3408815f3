"""Background tasks by name, so a service can queue one without importing the module that runs it.

Layers go one way: a task module calls services (`mailing.tasks.email_send_task` calls
`mailing.services.email_deliver`), so a service may not import a task module back (the
import-linter contracts in `.importlinter` say so). A service that must queue work with its
write asks for the task by its name, the way Celery's `send_task` and procrastinate's
`configure_task(name=...)` do:

    enqueue_on_commit(task_named("email_send_task"), send.pk)

The names are the task functions' names, found in each installed app's `tasks` module the
first time one is asked for (the way Django's admin discovers `admin` modules); two tasks
with one name, or a name no app has, is an error at once rather than a job that never runs.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.tasks.base import Task

_TASKS: dict[str, Task] = {}


def _discover() -> dict[str, Task]:
    found: dict[str, Task] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.tasks"
        if not config.name.startswith("leadbill.") or find_spec(module_name) is None:
            continue
        for value in vars(import_module(module_name)).values():
            if isinstance(value, Task) and value.func.__module__ == module_name:
                if value.name in found and found[value.name] is not value:
                    raise ImproperlyConfigured(f"two tasks are named {value.name}: {module_name} and another app")
                found[value.name] = value
    return found


def task_named(name: str) -> Task:
    """The task whose function is called `name`, in whichever app's `tasks` module defines it."""
    if name not in _TASKS:
        _TASKS.update(_discover())
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"no installed app has a task named {name!r}") from None
