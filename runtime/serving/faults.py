"""Faults a server instance injects, for tests and benchmarks: throttling, 5xx, slow responses.

A plan is deterministic: `script` gives the action of the first requests in arrival order (then `ok`),
and `throttle_rate` / `error_rate` draw further faults from a seeded generator. Oversized payloads are
rejected by the server itself (`max_payload_bytes`), not by the plan.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

OK = "ok"
THROTTLE = "throttle"  # HTTP 429, ThrottlingException
ERROR = "error"  # HTTP 500, InternalFailure
UNAVAILABLE = "unavailable"  # HTTP 503, ServiceUnavailable
SLOW = "slow"  # sleeps `slow_seconds`, then answers normally
ACTIONS = (OK, THROTTLE, ERROR, UNAVAILABLE, SLOW)


@dataclass(frozen=True)
class FaultPlan:
    script: tuple[str, ...] = ()
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.script) - set(ACTIONS))
        if unknown:
            raise ValueError(f"unknown fault action(s) {unknown} (choose from {', '.join(ACTIONS)})")
        rates = (self.throttle_rate, self.error_rate, self.slow_rate)
        if not all(0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("throttle, error and slow rates must be within [0, 1] and add up to at most 1")

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """`throttle=0.1,error=0.05,slow_rate=0.1,slow=2.5,seed=7,script=throttle+ok+error` (--faults)."""
        values: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            if name == "script":
                values["script"] = tuple(a for a in value.split("+") if a)
            elif name in ("throttle", "error", "slow_rate"):
                values[name if name == "slow_rate" else f"{name}_rate"] = float(value)
            elif name == "slow":
                values["slow_seconds"] = float(value)
            elif name == "seed":
                values["seed"] = int(value)
            else:
                raise ValueError(f"unknown fault setting {name!r} (script, throttle, error, slow_rate, slow, seed)")
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class FaultInjector:
    """Hands out one action per request, thread-safe, in arrival order."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    _count: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.plan.seed)

    def next_action(self) -> str:
        with self._lock:
            index, self._count = self._count, self._count + 1
            if index < len(self.plan.script):
                return self.plan.script[index]
            draw = self._rng.random()
        if draw < self.plan.throttle_rate:
            return THROTTLE
        if draw < self.plan.throttle_rate + self.plan.error_rate:
            return ERROR
        if draw < self.plan.throttle_rate + self.plan.error_rate + self.plan.slow_rate:
            return SLOW
        return OK
