from django.apps import AppConfig


class SelfbillingConfig(AppConfig):
    name = "leadbill.selfbilling"
    label = "selfbilling"

    def ready(self) -> None:
        from leadbill.mailing.services import attachments_register
        from leadbill.selfbilling.issuing import SELF_BILLED_PURPOSE, self_billed_attach

        attachments_register(SELF_BILLED_PURPOSE.rstrip(":"), self_billed_attach)
