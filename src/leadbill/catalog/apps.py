from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "leadbill.catalog"
    label = "catalog"
