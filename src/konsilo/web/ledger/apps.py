from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "konsilo.web.ledger"
    label = "ledger"
    default_auto_field = "django.db.models.BigAutoField"
