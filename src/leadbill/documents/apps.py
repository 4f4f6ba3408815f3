from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "leadbill.documents"
    label = "documents"
