"""Shared test settings: fast password hashing in tests only, steady property tests."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge correctness, not speed: on a loaded CI machine input generation and
# single examples can be slow, and that must not fail a run (benchmarks live in bench/).
settings.register_profile("konsilo", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("konsilo")


@pytest.fixture(autouse=True)
def _fast_hasher(settings: pytest.FixtureRequest) -> None:
    # Argon2 is deliberately slow; tests that do not test hashing need no such cost.
    settings.PASSWORD_HASHERS = [  # type: ignore[attr-defined]
        "django.contrib.auth.hashers.MD5PasswordHasher"
    ]


@pytest.fixture(autouse=True)
def _record_key_in_tmp(
    settings: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The record's signing key is created in the data directory on first use; tests keep it
    # out of the working tree's ./data.
    settings.DATA_DIR = tmp_path_factory.getbasetemp() / "data"  # type: ignore[attr-defined]


from tests.personas import (  # noqa: E402  (fixtures shared by web and CLI tests)
    anonymous_api,
    delegate_api,
    fed,
    member_api,
    outsider_api,
    steward_api,
)

__all__ = ["anonymous_api", "delegate_api", "fed", "member_api", "outsider_api", "steward_api"]
