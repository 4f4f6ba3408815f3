from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "leadbill.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from leadbill.audit.services import subscribe
        from leadbill.webhooks.services import events_from_audit

        subscribe(events_from_audit)
