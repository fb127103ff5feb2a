from django.apps import AppConfig


class CemConfig(AppConfig):
    name = "cem"
    verbose_name = "CEM core"
