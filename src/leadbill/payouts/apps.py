from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "leadbill.payouts"
    label = "payouts"
