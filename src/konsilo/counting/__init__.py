"""Pure vote counting: every decision and election method konsilo offers, in exact numbers.

Each method module exposes the same shape, ``count(profile, *, ...) -> Result``.
"""

from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.tiebreak import Lot, LotRequiredError, closing_seed

__all__ = ["Draw", "Lot", "LotRequiredError", "Result", "Round", "closing_seed"]
