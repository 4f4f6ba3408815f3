from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The staff console: billing run from a browser, per entity and role."""

    name = "leadbill.console"
    label = "console"
