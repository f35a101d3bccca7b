"""The rare-pair metrics FG-C can add (`rare_pair_metrics`), by where they come from (no pyspark here).

- `pair_counts` family (needs `pair_counts.s3_prefix` and FG-B's `pair/` baseline): this batch's pair counts
  of the host as source, against the pairs FG-B saw in horizon h. One column `<name>_<h>` per horizon.
- `pair_context` family (needs `pair_context_input.s3_prefix`, FG-A's pair context with its 30-day pair
  history): this window's host-peer-port pairs that FG-A found new. One column `<name>`.
"""

from __future__ import annotations

PAIR_COUNT_METRICS: tuple[str, ...] = ("new_pair_cnt", "new_pair_events", "new_peer_cnt", "new_port_cnt")
PAIR_CONTEXT_METRICS: tuple[str, ...] = ("ctx_new_pair_cnt", "ctx_new_pair_sessions", "ctx_new_pair_bytes_src")
RARE_PAIR_METRICS: tuple[str, ...] = (*PAIR_COUNT_METRICS, *PAIR_CONTEXT_METRICS)
