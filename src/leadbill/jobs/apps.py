from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "leadbill.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
