"""`python -m runtime if_training` from the published ndr-prod spec against the emulator-backed table.

Proof: the injected anomalous windows score in the top percentile; a second run with the same seed and
data produces a byte-identical model.tar.gz (and leaves the frozen copy alone); the loader refuses a
tampered file; the HTML report is self-contained; MLflow holds one run per trial plus the final one.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest

from devtools.feature_fixture import Fixture, FixtureOptions, build_fixture, partition_files, write_fixture
from runtime.entrypoint import main
from runtime.models.artifact import FOREST_FILE, ArtifactError, extract_archive
from runtime.models.scoring import load_model_artifact
from runtime.storage import LocalStorage
from tests.runtime.conftest import job_argv

GOLDEN_ITEMS = Path(__file__).resolve().parents[4] / "tests" / "golden" / "dynamodb" / "ml_projects_parameters.jsonl"
REFERENCE = "2025-06-01T00:00:00Z"  # window: 2025-01-01 .. 2025-05-01 (exclusive); the fixture is April 2025
TEST_MAX_TRIALS = 3  # the published spec asks for 40; the rest of the item is used as published


def published_item(project: str, job: str) -> dict[str, Any]:
    for line in GOLDEN_ITEMS.read_text().splitlines():
        item = json.loads(line)["Item"]
        if item["project_name"]["S"] == project and item["job_name"]["S"] == job:
            return dict(item)
    raise AssertionError(f"{project} {job} is not in {GOLDEN_ITEMS}")


@dataclass
class Trained:
    root: Path
    fixture: Fixture
    first: dict[str, Any]
    second: dict[str, Any]
    spec: dict[str, Any]

    def bytes_at(self, uri: str) -> bytes:
        return LocalStorage(self.root).read_bytes(uri)


@pytest.fixture(scope="module")
def trained(emulator_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    from boto3.dynamodb.types import TypeDeserializer

    capsys_like = _Capture()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ENDPOINT_URL": emulator_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        table = f"ml_projects_parameters_{uuid.uuid4().hex[:10]}"
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "project_name", "KeyType": "HASH"},
                {"AttributeName": "job_name", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "project_name", "AttributeType": "S"},
                {"AttributeName": "job_name", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        item = published_item("ndr-prod", "if_training#v1")
        item["spec"]["M"]["tuning"]["M"]["max_trials"] = {"N": str(TEST_MAX_TRIALS)}
        client.put_item(TableName=table, Item=item)
        spec = TypeDeserializer().deserialize(item["spec"])

        root = tmp_path_factory.mktemp("if_training") / "s3"
        storage = LocalStorage(root)
        fixture = build_fixture(FixtureOptions())
        fg_a, fg_c = spec["feature_inputs"]["fg_a"]["s3_prefix"], spec["feature_inputs"]["fg_c"]["s3_prefix"]
        write_fixture(fixture, fg_a, fg_c, storage.write_bytes)
        # partitions outside the window, full of extreme values: they must not be read
        poison = build_fixture(FixtureOptions(start=pd.Timestamp("2025-05-10").date(), days=1, hosts=3, seed=1))
        poison.fg_a.loc[:, "sessions_cnt_w_15m"] = 10**9
        for frame, prefix in ((poison.fg_a, fg_a), (poison.fg_c, fg_c)):
            for uri, data in partition_files(frame, prefix, "v1").items():
                storage.write_bytes(uri, data)
        argv = job_argv("if_training", table, root, "--reference-ts-iso", REFERENCE)
        first = capsys_like.run(argv)
        second = capsys_like.run(argv)
        yield Trained(root, fixture, first, second, spec)


class _Capture:
    """`main` prints its summary on stdout; a module fixture cannot use capsys, so redirect by hand."""

    def run(self, argv: list[str]) -> dict[str, Any]:
        import contextlib

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        assert code == 0, err.getvalue()[-3000:]
        return dict(json.loads(out.getvalue()))


def _joined(fixture: Fixture) -> pd.DataFrame:
    """FG-A ⋈ FG-C recomputed here with pandas, independently of runtime.training.dataset."""
    keys = ["host_ip", "window_label", "window_end_ts"]
    fg_c = fixture.fg_c.drop(columns=["window_start_ts", "project_name"])
    return fixture.fg_a.merge(fg_c, on=keys, how="inner")


def test_the_injected_host_scores_in_the_top_percentile(trained: Trained, tmp_path: Path) -> None:
    archive = trained.bytes_at(trained.first["model_uri"])
    model = load_model_artifact(extract_archive(archive, tmp_path / "model"))
    joined = _joined(trained.fixture)
    rows = joined[list(model.feature_names)].astype(float).replace({np.nan: None}).to_numpy().tolist()
    joined["score"] = model.score(rows)
    cutoff = joined["score"].quantile(0.99)
    flagged = joined.merge(trained.fixture.anomalous_rows, on=["host_ip", "window_label"])
    assert len(flagged) == 6 and (flagged["score"] >= cutoff).all(), flagged["score"].tolist()
    assert joined.groupby("host_ip")["score"].max().idxmax() == "10.0.0.99"
    assert len(joined) == 21 * 12 * 20  # the out-of-window partitions were not read
    # the fixture's hosts without an FG-B baseline (every baseline_source_* null) are left out and counted
    with_baseline = int(joined["baseline_source_7d"].notna().sum())
    assert (trained.first["rows"], trained.first["rows_without_baseline"]) == (with_baseline, 504)
    assert with_baseline + 504 == len(joined)
    assert trained.first["data_window"]["start_ts"] == "2025-01-01T00:00:00Z"
    assert trained.first["data_window"]["end_ts"] == "2025-05-01T00:00:00Z"


def test_same_seed_and_data_give_a_byte_identical_model(trained: Trained) -> None:
    first, second = trained.first, trained.second
    assert first["model_sha256"] == second["model_sha256"]
    archive = trained.bytes_at(first["model_uri"])
    assert trained.bytes_at(first["model_image_uri"]) == archive
    assert first["model_uri"].endswith("/ndr-prod/if-2025.01/model.tar.gz")
    assert first["model_uri"].startswith(trained.spec["output"]["artifacts_s3_prefix"])


def test_the_manifest_describes_the_model(trained: Trained, tmp_path: Path) -> None:
    directory = extract_archive(trained.bytes_at(trained.first["model_uri"]), tmp_path / "m")
    manifest = json.loads((directory / "manifest.json").read_bytes())
    assert manifest["model_version"] == "if-2025.01" and manifest["seed"] == 42
    assert manifest["feature_names"] == trained.first["features"]
    assert manifest["data_window"] == trained.first["data_window"]
    assert {"scikit-learn", "numpy", "python"} <= manifest["libraries"].keys()
    assert set(manifest["files"]) == {"model/forest.json", "model/preprocessing.json", "model/features.json"}
    assert 0 < manifest["score_thresholds"]["alert"] < 1


def test_the_loader_refuses_a_tampered_model(trained: Trained, tmp_path: Path) -> None:
    directory = extract_archive(trained.bytes_at(trained.first["model_uri"]), tmp_path / "m")
    path = directory / FOREST_FILE
    path.write_bytes(path.read_bytes().replace(b'"max_samples":', b'"max_samples": ', 1))
    with pytest.raises(ArtifactError, match="does not match the manifest"):
        load_model_artifact(directory)


class _Checker(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "source", "area", "base", "col"})
    SVG_SELF_CLOSING = frozenset({"rect", "line", "circle", "polyline", "path"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") or (value and re.search(r"url\(|https?://", value) and name != "xmlns"):
                self.urls.append(f"{tag} {name}={value}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def _report_paths(trained: Trained) -> tuple[Path, Path]:
    storage = LocalStorage(trained.root)
    return storage.local_path(trained.first["report_json_uri"]), storage.local_path(trained.first["report_html_uri"])


def test_the_html_report_is_well_formed_and_self_contained(trained: Trained) -> None:
    json_path, html_path = _report_paths(trained)
    report = json.loads(json_path.read_bytes())
    assert len(report["tuning"]["trials"]) == TEST_MAX_TRIALS and report["importance"]["permutation"]
    checker = _Checker()
    checker.feed(html_path.read_text())
    checker.close()
    assert checker.stack == [] and checker.urls == []
    assert checker.tags.count("svg") == 5  # score histogram, stability, split share, permutation, trials
    assert not {"script", "link", "img", "iframe", "object"} & set(checker.tags)
    assert "url(" not in html_path.read_text() and "@import" not in html_path.read_text()


def test_the_html_report_renders_in_headless_chromium_without_console_errors(
    trained: Trained, tmp_path: Path, chromium: str
) -> None:
    _, html_path = _report_paths(trained)
    process = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={tmp_path / 'report.png'}",
            "--window-size=1000,2400",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    console = [line for line in process.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []


def test_mlflow_holds_every_trial_and_the_final_run(trained: Trained) -> None:
    from mlflow.tracking import MlflowClient

    assert trained.first["tracking_uri"] == (trained.root.parent / "mlruns").resolve().as_uri()
    client = MlflowClient(tracking_uri=trained.first["tracking_uri"])
    experiment = client.get_experiment_by_name("ndr-prod-if-training")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    names = sorted(r.info.run_name for r in runs)
    expected = sorted([f"if-v1-trial-{i:03d}" for i in range(TEST_MAX_TRIALS)] + ["if-v1-final"])
    assert names == sorted(expected * 2)  # two runs of the job
    final = client.get_run(trained.first["mlflow_runs"]["if-v1-final"])
    assert final.data.params["archive_sha256"] == trained.first["model_sha256"]
    artifacts = {a.path for a in client.list_artifacts(final.info.run_id, "model")}
    assert artifacts == {"model/model.tar.gz"}
    trial = client.get_run(trained.first["mlflow_runs"]["if-v1-trial-000"])
    assert {"objective", "score_separation", "stability", "alert_rate_penalty"} <= trial.data.metrics.keys()
    assert {a.path for a in client.list_artifacts(trial.info.run_id, "trial")} == {"trial/if-v1-trial-000.json"}
