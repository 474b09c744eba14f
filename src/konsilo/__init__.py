"""konsilo: council democracy with mandated, recallable delegates and a public record."""

__version__ = "0.1.0"
