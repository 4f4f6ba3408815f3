from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "leadbill.payouts"
    label = "payouts"

    def ready(self) -> None:
        from leadbill.mailing.services import attachments_register
        from leadbill.payouts.services import SELF_BILLED_PURPOSE, self_billed_attach

        attachments_register(SELF_BILLED_PURPOSE.rstrip(":"), self_billed_attach)
