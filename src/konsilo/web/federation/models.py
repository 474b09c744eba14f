"""Stored state of items sent to the bases: the sending, each delegation's instruction vote
and mandate, the amendments the higher council lists in advance (every council below
instructs on each beside the text sent), the votes delegations cast at the higher council
and recorded breaches, and, when the higher council amends the text after its bases
instructed, the delegations' requests to postpone the vote and how the vote outside their
mandates was settled (§3.10).

Models store data only; the rules are konsilo.governance's (mandates, schedule, federation,
minority), applied in actions.py.
"""

from __future__ import annotations

from django.db import models


class Sending(models.Model):
    """A higher council's item sent to the councils below it, with its cascading schedule."""

    proposal = models.OneToOneField(
        "decisions.Proposal", on_delete=models.PROTECT, related_name="sending"
    )
    # konsilo.governance.schedule.Schedule.to_canonical(), as canonical JSON values.
    schedule = models.JSONField()
    # structure.composition for this item (re_deliberation, pass_through, direct_base_...).
    composition = models.CharField(max_length=32, default="pass_through")
    sent_at = models.DateTimeField()
    # Each postponement re-sends the item: its instructions of the current round are the
    # ones in force (1 for the first sending).
    round = models.PositiveIntegerField(default=1)
    # Since when the text voted on is outside some delegation's mandate (an amendment after
    # the bases instructed), until the vote on it is settled or postponed.
    out_of_mandate_since = models.DateTimeField(null=True, blank=True)
    # konsilo.governance.OutOfMandateVote.to_canonical() once the vote on the amended text
    # goes ahead (at its opening), as canonical JSON values.
    settlement = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.proposal} sent to the bases"


class ListedAmendment(models.Model):
    """An amendment the higher council lists when it sends its item (§3.10): a full amended
    text, on which every council below instructs beside the text sent, so that the item's
    amendment to exactly this text (same content hash) stays within the mandates."""

    sending = models.ForeignKey(Sending, on_delete=models.PROTECT, related_name="listed")
    round = models.PositiveIntegerField(default=1)  # the sending's round it was listed in
    number = models.PositiveIntegerField()  # 1, 2, ... within the sending
    label = models.CharField(max_length=80)
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    listed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sending", "round", "sha256"], name="listed_amendment_text_unique"
            ),
            models.UniqueConstraint(fields=["sending", "number"], name="listed_amendment_number"),
        ]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"amendment {self.label} listed on {self.sending}"


class Instruction(models.Model):
    """One delegation's instruction vote (in its own council) and the mandate derived from it.

    A sending cascades through every level below the sending council: a base's instruction
    vote is its members' vote; an intermediate council's is its delegations' vote, and its
    own delegation's mandate follows the sending's composition. ``higher`` is the item the
    delegation votes on (the sending's item, or an intermediate council's instruction vote).
    """

    sending = models.ForeignKey(Sending, on_delete=models.PROTECT, related_name="instructions")
    delegation = models.ForeignKey(
        "councils.Delegation", on_delete=models.PROTECT, related_name="instructions"
    )
    base_proposal = models.OneToOneField(
        "decisions.Proposal", on_delete=models.PROTECT, related_name="instruction"
    )
    higher = models.ForeignKey(
        "decisions.Proposal",
        on_delete=models.PROTECT,
        related_name="incoming_instructions",
        null=True,
        blank=True,
    )
    key = models.CharField(max_length=200)  # "<lower>-><higher>"
    # The listed amendment this instruction is on (its own cascade of instruction votes on
    # the amendment's text); none for the text sent.
    listed = models.ForeignKey(
        ListedAmendment,
        on_delete=models.PROTECT,
        related_name="instructions",
        null=True,
        blank=True,
    )
    round = models.PositiveIntegerField(default=1)  # the sending's round it belongs to
    # When the instruction vote opens (schedule.cascade_deadlines); a base's vote is opened
    # then by the periodic task, an intermediate council's is open from the sending.
    opens_at = models.DateTimeField(null=True, blank=True)
    weight = models.CharField(max_length=64)  # exact, from the census frozen at sending
    # MandatePolicy.to_canonical() and VoteWindow.to_canonical() as canonical JSON values.
    policy = models.JSONField()
    window = models.JSONField()
    # Mandate.to_canonical() once derived (when the instruction vote closed).
    mandate = models.JSONField(null=True, blank=True)
    # BaseVote.to_canonical() of the base's vote the mandate was derived from, as the
    # record's mandate.derived holds it (none for an intermediate council, or no vote).
    base_vote = models.JSONField(null=True, blank=True)
    derived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sending", "delegation", "round"],
                condition=models.Q(listed__isnull=True),
                name="instruction_unique",
            ),
            models.UniqueConstraint(
                fields=["sending", "delegation", "round", "listed"],
                condition=models.Q(listed__isnull=False),
                name="instruction_listed_unique",
            ),
        ]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"instruction of {self.key}"


class DelegationVote(models.Model):
    """A delegation's weighted ballot at the higher council (always open)."""

    proposal = models.ForeignKey(
        "decisions.Proposal", on_delete=models.PROTECT, related_name="delegation_votes"
    )
    delegation = models.ForeignKey(
        "councils.Delegation", on_delete=models.PROTECT, related_name="votes"
    )
    key = models.CharField(max_length=200)
    ballot = models.JSONField()
    ballot_key = models.CharField(max_length=2000)  # canonical text of the ballot
    weight = models.CharField(max_length=64)
    cast_by = models.CharField(max_length=64)  # "system" or the delegate's member record id
    cast_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "delegation", "ballot_key"], name="delegation_vote_unique"
            )
        ]
        ordering = ["key", "pk"]

    def __str__(self) -> str:
        return f"{self.key} on {self.proposal}"


class Breach(models.Model):
    """A delegate voted against a binding mandate (MandateBreached); recall rules act on it."""

    proposal = models.ForeignKey(
        "decisions.Proposal", on_delete=models.PROTECT, related_name="mandate_breaches"
    )
    delegation = models.ForeignKey(
        "councils.Delegation", on_delete=models.PROTECT, related_name="breaches"
    )
    delegate = models.ForeignKey("councils.Member", on_delete=models.PROTECT, related_name="+")
    event = models.JSONField()  # MandateBreached.to_canonical()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"breach by {self.delegate} on {self.proposal}"


class PostponementRequest(models.Model):
    """A delegation asks to postpone the vote on a text outside its mandate (§3.10): the
    platform asks for the delegations it casts for, a delegate for their own."""

    sending = models.ForeignKey(
        Sending, on_delete=models.PROTECT, related_name="postponement_requests"
    )
    instruction = models.ForeignKey(
        Instruction, on_delete=models.PROTECT, related_name="postponement_requests"
    )
    voted_sha256 = models.CharField(max_length=64)  # the text the request is about
    requested_by = models.CharField(max_length=64)  # "system" or the delegate's record id
    # The PostponementRequested / ReferredBack events (to_canonical()), in step order.
    events = models.JSONField()
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instruction", "voted_sha256"], name="postponement_request_unique"
            )
        ]
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"{self.instruction.key} asks to postpone {self.voted_sha256[:12]}"
