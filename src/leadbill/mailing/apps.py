from django.apps import AppConfig


class MailingConfig(AppConfig):
    name = "leadbill.mailing"
    label = "mailing"
