from django.apps import AppConfig


class WebConfig(AppConfig):
    """Sign-in, roles, the shared layout and assets of the console and the portal."""

    name = "leadbill.web"
    label = "web"
