"""URL routes; the console and portal mount here as they arrive."""

from django.urls import path

from leadbill.api.main import api

urlpatterns = [path("api/v1/", api.urls)]
