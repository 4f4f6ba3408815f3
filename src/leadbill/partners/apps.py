from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "leadbill.partners"
    label = "partners"
