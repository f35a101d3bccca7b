#!/usr/bin/env bash
# Fresh machine -> the main job on the embedded local environment (no AWS account needed):
# install; validate and compile the sample workspace; start the local AWS emulator (moto on 127.0.0.1),
# provision the tables and publish; then generate one Palo Alto traffic batch and run the delta and pair
# counts Spark builders on it from the published specs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

ndrc validate
ndrc compile
ndrc provision --seed-routing
ndrc publish --yes

# Reference data the specs point at (port sets), into the local stand-in for the artifacts bucket.
root=.ndrc/local/s3
mkdir -p "$root/ndr-artifacts-local"
cp -R reference "$root/ndr-artifacts-local/"

batch=$(ndrc gen-traffic --org1 globex --org2 hq --project-name ndr-prod --batches 1 --rows-per-batch 5000 --seed 42 | tail -n 1)
field() { python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$batch" "$1"; }
end_ts=$(field batch_end_ts_iso)
start_ts=$(python -c "import sys; from runtime.orchestration import batch_window; print(batch_window(sys.argv[1])[0])" "$end_ts")
args=(--project ndr-prod --version v1 --mini-batch-id "$(field mini_batch_id)"
      --mini-batch-s3-prefix "$(field mini_batch_s3_prefix)"
      --batch-start-ts-iso "$start_ts" --batch-end-ts-iso "$end_ts")
ndrc run delta_builder "${args[@]}"
ndrc run pair_counts_builder "${args[@]}"
echo "quickstart: done. Outputs under $root/ndr-features-local/; the emulator keeps running (ndrc local down stops it)."
