"""Who may do what in an organisation: steward, council member, delegate, outsider.

Every view and API call goes through these before it reads or changes anything.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from konsilo.web.councils.models import Council, Member, Membership, Office, Organisation, Steward


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_steward(user: Any, organisation: Organisation) -> bool:
    if not _authenticated(user):
        return False
    if user.is_superuser:
        return True
    return Steward.objects.filter(organisation=organisation, user=user).exists()


def member_for(user: Any, organisation: Organisation) -> Member | None:
    if not _authenticated(user):
        return None
    return Member.objects.filter(organisation=organisation, user=user).first()


def _open(prefix: str = "") -> Q:
    today = timezone.localdate()
    return Q(**{f"{prefix}end__isnull": True}) | Q(**{f"{prefix}end__gt": today})


def is_council_member(user: Any, council: Council) -> bool:
    """A base council's members, or the holders of seats in a delegate council."""
    if not _authenticated(user):
        return False
    if Membership.objects.filter(_open(), council=council, member__user=user).exists():
        return True
    return Office.objects.filter(_open(), council=council, member__user=user).exists()


def is_delegate(user: Any, council: Council) -> bool:
    if not _authenticated(user):
        return False
    return Office.objects.filter(
        _open(), council=council, member__user=user, kind=Office.Kind.DELEGATE
    ).exists()


def can_view_organisation(user: Any, organisation: Organisation) -> bool:
    """Members see the whole structure (who holds what weight); outsiders see nothing."""
    return is_steward(user, organisation) or member_for(user, organisation) is not None


def can_change_structure(user: Any, organisation: Organisation) -> bool:
    return is_steward(user, organisation)


def can_see_contact_details(user: Any, organisation: Organisation) -> bool:
    return is_steward(user, organisation)
