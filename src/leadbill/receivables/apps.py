from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "leadbill.receivables"
    label = "receivables"
