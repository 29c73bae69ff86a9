"""Bridges to other toolkits: the VOT toolkit (TraX), got10k, pysot's dataset JSON files."""
