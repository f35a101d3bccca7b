"""What every benchmark here shares: run one phase in a child process and sample its tree's peak RSS.

A phase is the benchmark script itself re-run with `--phase <name> ...`; it prints one JSON line last. The
parent samples the resident memory of the child and all its descendants (driver + JVM, or DuckDB) every
0.1 s from /proc, so the figure covers what the engine really held, not just the Python process. It samples
the tree's CPU time (user + system) alongside: on a shared machine the CPU seconds are a steadier figure
than the wall time, which the other tenants stretch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any


def tree_rss_bytes(pid: int) -> int:
    """Resident bytes of `pid` and every process below it (Linux /proc)."""
    return tree_usage(pid)[0]


def tree_usage(pid: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds so far) of `pid` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            # utime, stime, cutime, cstime: the last two hold children that exited and were waited for
            cpu[int(entry)] = sum(int(f) for f in fields[11:15]) / ticks
        except (OSError, IndexError, ValueError):
            continue
    total, seconds, stack = 0, 0.0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        seconds += cpu.get(current, 0.0)
        stack += children.get(current, [])
    return total, seconds


def run_phase(script: str, name: str, arguments: list[str]) -> dict[str, Any]:
    """`python <script> --phase <name> <arguments>` in a child; its last stdout line (JSON) + `peak_rss_mb` and
    `cpu_seconds` (the tree's CPU time at the last sample, up to 0.1 s before the child ended)."""
    command = [sys.executable, script, "--phase", name, *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak, cpu = 0, 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, cpu
        while not done.is_set():
            rss, seconds = tree_usage(process.pid)
            peak, cpu = max(peak, rss), max(cpu, seconds)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"phase {name} failed with exit code {process.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20)
    result["cpu_seconds"] = round(cpu, 1)
    return result
