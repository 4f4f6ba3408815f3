from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "leadbill.deliveries"
    label = "deliveries"
