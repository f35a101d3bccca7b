"""Orchestration helpers (CONTRACT): batch key parsing, the cron-floor window, the historical extractor."""

from runtime.orchestration.batch_key import BatchKey, parse_batch_key
from runtime.orchestration.window import FLOOR_MINUTES, batch_window

__all__ = ["FLOOR_MINUTES", "BatchKey", "batch_window", "parse_batch_key"]
