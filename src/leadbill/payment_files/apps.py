from django.apps import AppConfig


class PaymentFilesConfig(AppConfig):
    name = "leadbill.payment_files"
    label = "payment_files"
