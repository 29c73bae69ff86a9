"""Metric definitions. Every function documents which reference toolkit it reproduces."""

VARIANTS = ("pysot", "vot-toolkit", "otb-toolkit", "got10k")
#: Variants that define only one kind of benchmark.
OPE_ONLY = frozenset({"otb-toolkit", "got10k"})
VOT_ONLY = frozenset({"vot-toolkit"})
