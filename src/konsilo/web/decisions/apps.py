from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "konsilo.web.decisions"
    label = "decisions"
    default_auto_field = "django.db.models.BigAutoField"
