from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "leadbill.scheduling"
    label = "scheduling"
