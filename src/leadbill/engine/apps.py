from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "leadbill.engine"
    label = "engine"
    verbose_name = "Background engine"
