"""Tracker adapters, found by name through :mod:`siambench.trackers.registry`."""

from siambench.trackers.base import Tracker, TrackResult

__all__ = ["Tracker", "TrackResult"]
