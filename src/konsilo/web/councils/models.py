"""Stored state of the council graph: organisations, councils, delegations, members, policies.

Models store and map data only; the rules (graph validity, apportionment, census, policy
resolution) live in konsilo.governance and are applied by actions.py.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Organisation(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    levels = models.JSONField(help_text="Level names, lowest (base) first.")
    parent_rule = models.CharField(max_length=8, default="tree")
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Steward(models.Model):
    """A person who may change the organisation's structure and import its members."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="stewards"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="steward_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} stewards {self.organisation}"


class Council(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="councils"
    )
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="council_unique_key")
        ]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class Delegation(models.Model):
    """The seats a lower council holds in a higher one: an edge of the council graph."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="delegations"
    )
    from_council = models.ForeignKey(
        Council, on_delete=models.PROTECT, related_name="delegations_up"
    )
    to_council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="delegations_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_council", "to_council"], name="delegation_unique_edge"
            ),
            models.CheckConstraint(
                condition=~Q(from_council=models.F("to_council")), name="delegation_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_council.key} → {self.to_council.key}"


class Member(models.Model):
    class Status(models.TextChoices):
        PROBATION = "probation"
        GOOD_STANDING = "good_standing"
        SUSPENDED = "suspended"
        LEFT = "left"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memberships_of",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GOOD_STANDING)
    # Self-declared categories for representation policies; protected, never published.
    categories = models.JSONField(default=list, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "email"], name="member_unique_email")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def record_id(self) -> str:
        """How the public record names this member (never the email)."""
        return f"m-{self.public_id.hex}"


class Membership(models.Model):
    """A member's seat in a base council over a time interval; one primary at a time."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="memberships")
    primary = models.BooleanField(default=True)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            # The database, not only the code, keeps one open primary base per member.
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(primary=True, end__isnull=True),
                name="membership_one_open_primary",
            ),
            models.UniqueConstraint(
                fields=["member", "council"],
                condition=Q(end__isnull=True),
                name="membership_one_open_per_council",
            ),
        ]
        indexes = [models.Index(fields=["council", "end"])]

    def __str__(self) -> str:
        kind = "primary" if self.primary else "secondary"
        return f"{self.member} in {self.council} ({kind})"


class Office(models.Model):
    """An office held for a term: a delegate's seat, an alternate's, a co-chair's, ..."""

    class Kind(models.TextChoices):
        DELEGATE = "delegate"
        ALTERNATE = "alternate"
        CO_CHAIR = "co_chair"
        OFFICER = "officer"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="offices")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="offices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    council = models.ForeignKey(Council, on_delete=models.PROTECT, related_name="offices")
    delegation = models.ForeignKey(
        Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="offices"
    )
    start = models.DateField()
    scheduled_end = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["council", "end"])]

    def __str__(self) -> str:
        return f"{self.member} — {self.kind} in {self.council}"


class PolicyVersion(models.Model):
    """One version of the policy values set at one scope; versions are never edited."""

    class Scope(models.TextChoices):
        ORGANISATION = "organisation"
        COUNCIL = "council"
        DECISION_TYPE = "decision_type"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="policy_versions"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices)
    council = models.ForeignKey(
        Council, null=True, blank=True, on_delete=models.PROTECT, related_name="policy_versions"
    )
    # The council's key for council scope, the decision type's name for decision-type scope,
    # empty for the organisation: one string so that uniqueness needs no NULL semantics.
    target = models.CharField(max_length=64, blank=True, default="")
    number = models.PositiveIntegerField()
    preset = models.CharField(max_length=64, blank=True, default="")
    values = models.JSONField(default=dict)
    reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "scope", "target", "number"],
                name="policy_version_unique",
            ),
        ]
        ordering = ["scope", "target", "number"]

    def __str__(self) -> str:
        return f"{self.scope} policy v{self.number}"


class CensusSnapshot(models.Model):
    """The census frozen at a date: who is represented where, as the pure core computed it."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="censuses"
    )
    on = models.DateField()
    basis = models.CharField(max_length=32)
    represented = models.JSONField(help_text="council key → represented members")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"census of {self.on}"
