"""The ``konsilo`` command line."""
