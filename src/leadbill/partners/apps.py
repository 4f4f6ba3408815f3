from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "leadbill.partners"
    label = "partners"

    def ready(self) -> None:
        from leadbill.audit.services import subscribe
        from leadbill.partners.stamps import from_audit

        subscribe(from_audit)
