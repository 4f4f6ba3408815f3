from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "leadbill.catalog"
    label = "catalog"

    def ready(self) -> None:
        from leadbill.catalog.notices import PURPOSE, attach_rate_card
        from leadbill.mailing.services import attachments_register

        attachments_register(PURPOSE.rstrip(":"), attach_rate_card)
