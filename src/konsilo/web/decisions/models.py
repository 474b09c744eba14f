"""Stored state of decisions: proposals, their texts, seconds, comments, ballots, reports.

Models store and map data only; phases, counting and eligibility are decided in actions.py
through konsilo.counting and konsilo.governance.

Secret ballots: ``SecretBallot`` and ``Participation`` share nothing but the proposal. Both
have a random primary key and no timestamp, and the ballot row carries no member; on SQLite
both tables are stored WITHOUT ROWID (migration 0002), so their rows sit in the order of their
random keys, not in the order they were cast.
"""

from __future__ import annotations

import uuid

from django.db import models


class Proposal(models.Model):
    """One item before a council: a motion, a consent round, or a choice among options."""

    class Phase(models.TextChoices):
        DRAFT = "draft"
        DISCUSSION = "discussion"
        VOTING = "voting"
        CLOSED = "closed"
        WITHDRAWN = "withdrawn"

    class Shape(models.TextChoices):
        YES_NO_ABSTAIN = "yes_no_abstain"
        CONSENT = "consent"
        MULTI_OPTION = "multi_option"
        APPROVAL = "approval"
        RANKED = "ranked"
        SCORE = "score"
        DOT_VOTE = "dot_vote"
        BUDGET = "budget"

    organisation = models.ForeignKey(
        "councils.Organisation", on_delete=models.PROTECT, related_name="proposals"
    )
    council = models.ForeignKey(
        "councils.Council", on_delete=models.PROTECT, related_name="proposals"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    decision_type = models.CharField(max_length=32)
    ballot_shape = models.CharField(max_length=16, choices=Shape.choices)
    # Options of multi-option, ranked, score and budget items: [{"key", "label", "cost"}].
    options = models.JSONField(default=list, blank=True)
    budget_total = models.CharField(max_length=64, blank=True, default="")
    dots = models.PositiveIntegerField(null=True, blank=True)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.DRAFT)
    author = models.ForeignKey(
        "councils.Member", on_delete=models.PROTECT, related_name="proposals"
    )
    # A competing alternative (or amendment) to another item of the same council.
    alternative_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="alternatives"
    )
    # An amend-or-rescind item names the earlier decision it would supersede (§3.9).
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    # The policy as resolved when the item was created, and the versions it came from.
    policy = models.JSONField(default=dict)
    policy_versions = models.JSONField(default=dict)
    secret = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    discussion_opened_at = models.DateTimeField(null=True, blank=True)
    voting_opened_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    extended = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set when the deadline passed and the secret ballots went to the record (closing, step 1).
    ballots_recorded = models.BooleanField(default=False)
    withdrawn_reason = models.TextField(blank=True, default="")
    # Frozen when voting opens: what the count needs, exactly as in the record.
    method = models.CharField(max_length=16, blank=True, default="")
    rule = models.JSONField(null=True, blank=True)
    census = models.JSONField(null=True, blank=True)
    # Written when the vote closes: Result.to_json() text and its outcome word.
    result = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=16, blank=True, default="")
    ballots_counted = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["council", "phase"]),
            models.Index(fields=["phase", "closes_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def record_id(self) -> str:
        return f"p-{self.public_id.hex}"


class TextVersion(models.Model):
    """One version of a proposal's text, kept forever with its SHA-256."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    author = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="text_version_unique")
        ]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.proposal} v{self.number}"


class Second(models.Model):
    """A member's support for putting an item on the agenda (§2.11)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="seconds")
    member = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "member"], name="second_unique")]

    def __str__(self) -> str:
        return f"{self.member} seconds {self.proposal}"


class Comment(models.Model):
    """A contribution to an item's discussion. Never deleted; moderation only hides it."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="comments")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    author = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True, default="")
    hidden_by = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment by {self.author} on {self.proposal}"

    @property
    def record_id(self) -> str:
        return f"c-{self.public_id.hex}"


class VoterRoll(models.Model):
    """The census frozen when voting opened: who may vote on the item, with what weight."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="roll")
    member = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    weight = models.CharField(max_length=64, default="1")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "member"], name="voter_roll_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member} may vote on {self.proposal}"


class Ballot(models.Model):
    """An open ballot: recorded with the voter; changed in place until the vote closes."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="ballots")
    member = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    content = models.JSONField()
    weight = models.CharField(max_length=64)
    cast_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            # The database, not only the code, keeps one ballot per member per item.
            models.UniqueConstraint(fields=["proposal", "member"], name="ballot_one_per_member")
        ]

    def __str__(self) -> str:
        return f"ballot of {self.member} on {self.proposal}"


class Participation(models.Model):
    """That a member took part in a secret vote; nothing about how they voted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="participations")
    member = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "member"], name="participation_one_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} took part in {self.proposal}"


class SecretBallot(models.Model):
    """A secret ballot: content, weight and the receipt's hash; no member, no time, random id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="secret_ballots")
    receipt_sha256 = models.CharField(max_length=64, unique=True)
    content = models.JSONField()
    weight = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"secret ballot on {self.proposal}"


class MinorityReport(models.Model):
    """The view of members who did not prevail, attached to the decision forever (§2.13)."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="minority_reports"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    author = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"minority report on {self.proposal}"

    @property
    def record_id(self) -> str:
        return f"r-{self.public_id.hex}"


class CoSignature(models.Model):
    report = models.ForeignKey(MinorityReport, on_delete=models.PROTECT, related_name="signatures")
    member = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "member"], name="cosignature_unique")
        ]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.member} co-signs {self.report}"
