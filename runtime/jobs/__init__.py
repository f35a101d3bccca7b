"""Runnable jobs, one folder each; `runtime.jobs.registry.REGISTRY` is the one list of them."""
