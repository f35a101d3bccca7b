#!/usr/bin/env bash
# Fresh machine -> the whole compiled platform running locally (no AWS account needed): install, then
# `ndrc demo`: a demo-sized copy of the sample workspace published onto a throwaway local emulator (its own
# port and state folder, .ndrc/demo; a running `ndrc local up` is left alone), a few hours of synthetic Palo
# Alto traffic with one injected anomalous host, the backfill state machine, FG-B baselines, training and
# deployment to the local model server, live batches through SNS -> SQS -> the published pipe -> the live state
# machine -> feature-15m; then a terminal summary and an HTML report (ndrc-demo.html).
# Extra arguments go to `ndrc demo` (e.g. --hours 6, --projects ndr-prod, --out report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

ndrc validate
ndrc demo "$@"
