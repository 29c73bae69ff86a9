"""siambench: benchmarking toolkit for Siamese single-object trackers."""

__version__ = "0.1.0"
