from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "leadbill.audit"
    label = "audit"
