"""What consumers of FG-B rely on (docs: FG-B output): its datasets below the output prefix, and the MAD scale.

FG-B writes one dataset per baseline kind under `fg_b_output.s3_prefix`: `host/` (per host), `segment/` (per
segment, the fallback for hosts without enough history) and, with pair counts configured, `pair/` (the
pairs seen per horizon). FG-C reads all three by these names.
"""

from __future__ import annotations

HOST_DATASET = "host"
SEGMENT_DATASET = "segment"
PAIR_DATASET = "pair"
MAD_SCALE = 1.4826
"""The consistency constant that makes the MAD estimate the standard deviation of normal data: FG-B's `mad`
capping and FG-C's robust z (`scale: mad`) multiply the stored, unscaled `mad` by it."""
