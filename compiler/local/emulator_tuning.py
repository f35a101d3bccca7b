"""Optional speed-up for the embedded emulator: moto 5.2.5 answers a DynamoDB Query by sorting every item
of the table (O(table size) per Query). A Query on the primary key only needs its own partition; this
patch hands moto's own Query a view of the table holding that one partition, so results, ordering,
pagination and filters stay exactly moto's. Used by `benchmarks/publish_bench.py` (1,000 projects);
`compiler.local.emulator.serve` may call `tune_moto()` too (moto is pinned in pyproject.toml).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

INDEX_NAME_POSITION = 6  # Table.query(hash_key, range_comparison, range_objs, limit, start, forward, projection, index)


def tune_moto() -> bool:
    """Install the partition-only Query path once; returns False if moto's Table has no `query`."""
    from moto.dynamodb.models.table import Table

    original = getattr(Table, "query", None)
    if original is None:
        return False
    if getattr(original, "_ndrc_tuned", False):
        return True

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[INDEX_NAME_POSITION] if len(args) > INDEX_NAME_POSITION else kwargs.get("index_name")
        if index_name is not None or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key)
        view = copy.copy(self)
        view.items = {} if partition is None else {hash_key: partition}
        return original(view, hash_key, *args, **kwargs)

    query._ndrc_tuned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    return True
