"""Metric definitions. Every function documents which reference toolkit it reproduces."""

VARIANTS = ("pysot", "vot-toolkit")
