"""What production mode needs before konsilo may serve anyone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from konsilo.web.ledger.keys import missing_key_problem


def production_problems() -> list[str]:
    """The settings that are missing or unsafe for production, as short sentences."""
    if not settings.PRODUCTION:
        return []
    problems = []
    if settings.SECRET_KEY.startswith("dev-only-insecure-key-") or len(settings.SECRET_KEY) < 40:
        problems.append("KONSILO_SECRET_KEY (at least 40 random characters) is not set")
    if not settings.ALLOWED_HOSTS:
        problems.append("KONSILO_ALLOWED_HOSTS (the host names it answers to) is not set")
    if settings.DEBUG:
        problems.append("KONSILO_DEBUG must be off")
    key_problem = missing_key_problem()
    if key_problem:
        problems.append(key_problem)
    return problems


@register("konsilo", deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [Error(p, id="konsilo.E001") for p in production_problems()]
