"""Dumps: the JSON files a run writes and load tests read by index, their offset index and hand-out strategies."""
