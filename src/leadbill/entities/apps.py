from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "leadbill.entities"
    label = "entities"
