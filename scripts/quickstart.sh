#!/usr/bin/env bash
# Fresh machine -> the main job on the embedded local environment (no AWS account):
# install, validate and compile the sample workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
ndrc validate
ndrc compile
