#!/usr/bin/env bash
# Fresh machine -> the whole compiled platform running locally (no AWS account needed): install, then
# `ndrc demo`: a demo-sized copy of the sample workspace published onto a throwaway local emulator (its own
# port and state folder, .ndrc/demo; a running `ndrc local up` is left alone), a few hours of synthetic Palo
# Alto traffic with one injected anomalous host, the backfill state machine, FG-B baselines, training and
# deployment to the local model server, live batches through SNS -> SQS -> the published pipe -> the live state
# machine -> feature-15m; then a terminal summary and an HTML report (ndrc-demo.html).
# Then `ndrc local status` lists the demo's executions, and on exit (also after a failure or Ctrl-C) the demo's
# environment is stopped: the script leaves no process behind (a plain `ndrc local down` would also stop this
# workspace's own `ndrc local up`; the demo's workspace copy names only the demo's). Run `ndrc demo` itself to
# keep the demo's environment up and explore it (`ndrc local status`, `ndrc local down`).
# Extra arguments go to `ndrc demo` (e.g. --hours 6, --projects ndr-prod, --out report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

ndrc validate
trap 'ndrc local down --workspace .ndrc/demo/workspace >/dev/null 2>&1 || true' EXIT
ndrc demo "$@"
ndrc local status --no-steps --limit 3 || true  # exits 1 when nothing runs (e.g. with --stop)
