"""The WSGI application for production servers (`leadbill serve` runs gunicorn with it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
application = get_wsgi_application()
