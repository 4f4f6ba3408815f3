from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The partner portal: one partner's own documents, report, returns and account."""

    name = "leadbill.portal"
    label = "portal"
