from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "leadbill.invoicing"
    label = "invoicing"
