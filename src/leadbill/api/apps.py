from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "leadbill.api"
    label = "api"
    verbose_name = "API"
