"""The errors of the governance rules: each names the field, what was expected and what came.

Every error is a ``ValueError`` carrying a machine ``code`` and the ``field`` it concerns, so
the web layer can answer ``{"error": {"code": ..., "message": ..., "field": ...}}`` without
parsing the message.

>>> err = GraphError("unknown parent 'x'", field="councils.a.parents", code="unknown_parent")
>>> (err.field, err.code, str(err))
('councils.a.parents', 'unknown_parent', "councils.a.parents: unknown parent 'x'")
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ApportionmentError",
    "CensusError",
    "GovernanceError",
    "GraphError",
    "PolicyError",
]


class GovernanceError(ValueError):
    """A governance rule refused its input.

    ``message`` says what was expected and what came; ``field`` names the parameter, council
    or member concerned (or ``None``); ``code`` is a short machine word such as ``"invalid"``,
    ``"cycle"`` or ``"out_of_range"``. ``str(error)`` prefixes the message with the field.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        self.message = message
        self.field = field
        self.code = code
        super().__init__(f"{field}: {message}" if field else message)

    def __reduce__(self) -> tuple[object, ...]:  # keep field and code through pickling
        return (_rebuild, (type(self), self.message, self.field, self.code))


def _rebuild(
    cls: type[GovernanceError], message: str, field: str | None, code: str
) -> GovernanceError:
    return cls(message, field=field, code=code)


class GraphError(GovernanceError):
    """The council graph is malformed: a cycle, an unknown council, a level-order violation."""


class ApportionmentError(GovernanceError):
    """Seats cannot be apportioned as asked: bad seat policy text, infeasible minimums."""


class CensusError(GovernanceError):
    """Memberships are inconsistent: no primary base, overlapping primaries, non-base council."""


class PolicyError(GovernanceError):
    """A policy is invalid; ``problems`` holds every problem found, not only the first.

    >>> err = PolicyError.from_problems([
    ...     GovernanceError("expected a fraction in (0, 1], got 0", field="quorum.fraction"),
    ...     GovernanceError("unknown parameter", field="quorum.fractoin"),
    ... ])
    >>> print(err)
    2 policy problems:
    - quorum.fraction: expected a fraction in (0, 1], got 0
    - quorum.fractoin: unknown parameter
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "invalid_policy",
        problems: Iterable[GovernanceError] = (),
    ) -> None:
        super().__init__(message, field=field, code=code)
        found = tuple(problems)
        # A PolicyError always lists its problems, even when raised for a single one.
        self.problems: tuple[GovernanceError, ...] = found or (
            GovernanceError(message, field=field, code=code),
        )

    @classmethod
    def from_problems(cls, problems: Iterable[GovernanceError]) -> PolicyError:
        """One error listing every problem, each on its own line."""
        found = tuple(problems)
        if len(found) == 1:
            only = found[0]
            return cls(only.message, field=only.field, code=only.code, problems=found)
        lines = [f"{len(found)} policy problems:"] + [f"- {p}" for p in found]
        fields = sorted({p.field for p in found if p.field})
        return cls(
            "\n".join(lines),
            field=fields[0] if len(fields) == 1 else None,
            code="invalid_policy",
            problems=found,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_policy, (self.message, self.field, self.code, self.problems))


def _rebuild_policy(
    message: str, field: str | None, code: str, problems: tuple[GovernanceError, ...]
) -> PolicyError:
    return PolicyError(message, field=field, code=code, problems=problems)
