from django.apps import AppConfig


class BooksConfig(AppConfig):
    name = "leadbill.books"
    label = "books"
