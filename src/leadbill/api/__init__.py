"""The JSON API, v1: Django Ninja routers over the capability apps' services and selectors."""
