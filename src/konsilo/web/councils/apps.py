from django.apps import AppConfig


class CouncilsConfig(AppConfig):
    name = "konsilo.web.councils"
    label = "councils"
    default_auto_field = "django.db.models.BigAutoField"
