"""Orchestration helpers (CONTRACT): batch key parsing, the cron-floor window, the historical extractor."""

from runtime.contract import WINDOW_FLOOR_MINUTES as FLOOR_MINUTES
from runtime.orchestration.batch_key import BatchKey, parse_batch_key
from runtime.orchestration.window import batch_window

__all__ = ["FLOOR_MINUTES", "BatchKey", "batch_window", "parse_batch_key"]
