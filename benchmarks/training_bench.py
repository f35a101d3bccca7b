"""Training benchmark: `if_training` on ~100k rows x the FG feature count against a bare IsolationForest fit.

    python -m benchmarks.training_bench --hosts 100 --days 21 --windows-per-day 48 --trials 5

Phases, each in its own process so its peak RSS is its own:
- `baseline`: read the same Parquet partitions with pandas, then scikit-learn's IsolationForest.fit on the
  raw joined matrix (the spec's hyperparameters: 300 trees, 256 samples) -- the least any trainer does;
- `train`: the whole job core (runtime.jobs.if_training.trainer.train): window read, join, preprocessing,
  selection (5 bootstrap runs), `--trials` random tuning trials, final fit, JSON forest, scoring,
  permutation importance, archive, reports and MLflow runs in a file store;
- `score`: the JSON forest (runtime.models.forest) scoring every row vs scikit-learn's score_samples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

FG_A, FG_C = "s3://features/bench/v1/fg_a/", "s3://features/bench/v1/fg_c/"
REFERENCE = datetime(2025, 6, 1, tzinfo=UTC)
PHASES = ("baseline", "train", "score")


def _spec(trials: int) -> Any:
    from runtime.jobs.if_training.spec import IfTrainingSpec

    payload = {
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}, "fg_c": {"s3_prefix": FG_C}},
        "window": {"lookback_months": 4, "gap_months": 1},
        "output": {"artifacts_s3_prefix": "s3://models/a/", "report_s3_prefix": "s3://models/r/"},
        "model": {
            "version": "bench",
            "hyperparameters": {"n_estimators": 300, "max_samples": 256, "contamination": 0.005, "random_state": 42},
        },
        "feature_selection": {"enabled": True, "stability_runs": 5, "permutation_eval": True},
        "tuning": {
            "method": "random",
            "max_trials": trials,
            "search_space": {"n_estimators": {"low": 100, "high": 300}, "max_samples": {"low": 128, "high": 512}},
        },
        "experiments": {"experiment_name": "bench", "trial_prefix": "bench"},
    }
    return IfTrainingSpec.from_payload(payload, "bench", "bench", "v1")


def _raw(storage: Any) -> tuple[Any, list[str]]:
    from runtime.training.dataset import load_training_frame
    from runtime.training.window import TrainingWindow

    window = TrainingWindow.before(REFERENCE, 4, 1)
    data = load_training_frame(
        storage,
        fg_a_prefix=FG_A,
        fg_c_prefix=FG_C,
        join_keys=("host_ip", "window_label", "window_end_ts"),
        window=window,
        feature_spec_version="v1",
    )
    return data, list(data.feature_names)


def child(phase: str, root: Path, trials: int) -> None:
    import mlflow.tracking  # imports are not what is measured
    import numpy as np
    import pandas
    import pyarrow.parquet
    import sklearn.ensemble

    from runtime.storage import LocalStorage

    del mlflow, pandas, pyarrow, sklearn
    storage = LocalStorage(root / "s3")
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if phase == "baseline":
        from sklearn.ensemble import IsolationForest

        data, names = _raw(storage)
        matrix = np.nan_to_num(data.matrix())
        IsolationForest(n_estimators=300, max_samples=256, random_state=42).fit(matrix)
        extra = {"rows": len(matrix), "features": len(names)}
    elif phase == "train":
        from runtime.jobs.if_training.trainer import train
        from runtime.training.window import TrainingWindow

        outcome = train(_spec(trials), TrainingWindow.before(REFERENCE, 4, 1), storage, (root / "mlruns").as_uri())
        extra = {"rows": outcome.report["data"]["rows"], "selected": len(outcome.report["model"]["feature_names"])}
    else:
        from sklearn.ensemble import IsolationForest

        from runtime.models.forest import ForestScorer, forest_to_dict

        data, names = _raw(storage)
        matrix = np.nan_to_num(data.matrix())
        forest = IsolationForest(n_estimators=300, max_samples=256, random_state=42).fit(matrix)
        scorer = ForestScorer(json.loads(json.dumps(forest_to_dict(forest))), len(names))
        t0 = time.perf_counter()
        ours = scorer.score(matrix)
        t1 = time.perf_counter()
        theirs = -forest.score_samples(matrix)
        t2 = time.perf_counter()
        extra = {
            "json_forest_rows_per_s": round(len(matrix) / (t1 - t0)),
            "sklearn_rows_per_s": round(len(matrix) / (t2 - t1)),
            "max_rel_diff": float(np.max(np.abs(ours - theirs) / theirs)),
        }
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"phase": phase, "seconds": round(seconds, 2), "peak_rss_mib": round(peak_mib, 1), **extra}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--windows-per-day", type=int, default=48)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--child", choices=PHASES)
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root, args.trials)
        return
    from devtools.feature_fixture import FixtureOptions, build_fixture, write_fixture
    from runtime.storage import LocalStorage

    with tempfile.TemporaryDirectory(prefix="ndrc-training-bench-") as tmp:
        root = Path(tmp)
        options = FixtureOptions(
            hosts=args.hosts, days=args.days, windows_per_day=args.windows_per_day, start=date(2025, 3, 1)
        )
        fixture = build_fixture(options)
        write_fixture(fixture, FG_A, FG_C, LocalStorage(root / "s3").write_bytes)
        print(json.dumps({"rows": len(fixture.fg_a), "fg_features": fixture.feature_count}))
        results = {}
        for phase in PHASES:
            command = [sys.executable, "-m", "benchmarks.training_bench", "--child", phase, "--root", str(root)]
            command += ["--trials", str(args.trials)]
            process = subprocess.run(command, capture_output=True, text=True, check=False, env=dict(os.environ))
            if process.returncode:
                raise SystemExit(f"{phase} failed:\n{process.stderr[-3000:]}")
            output = process.stdout.strip().splitlines()[-1]
            results[phase] = json.loads(output)
            print(output)
        ratio = results["train"]["seconds"] / results["baseline"]["seconds"]
        print(json.dumps({"train_vs_baseline": round(ratio, 2)}))


if __name__ == "__main__":
    main()
