"""What the orchestration targets compile: shapes, sharing, names, parameters, determinism, runtime bundle."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compiler.compilation.compile import CompileResult
from compiler.model import CompiledWorkspace, EnvironmentConfig
from compiler.orchestration import jsonata
from compiler.orchestration import stepfunctions as machines
from compiler.orchestration.bundle import package_root, runtime_bundle
from compiler.orchestration.flows import FLOWS_BY_KEY
from compiler.targets import sagemaker, stepfunctions

SHARED_STATES = ("AcquireLock", "Duplicate", "LockFailed", "ReleaseLock", "PipelineStartFailed")


def _doc(build: CompileResult, name: str) -> Any:
    return json.loads(next(a.content for a in build.artifacts if a.name == name))


def test_manifest_lists_roles_kinds_and_paths(builds: dict[str, CompileResult]) -> None:
    manifest = json.loads((builds["local"].out_dir / "manifest.json").read_text())
    machines = {e["name"]: e for e in manifest["artifacts"] if e["kind"] == "state_machine"}
    assert {n: (e["role"], e["path"]) for n, e in machines.items()} == {
        "ndr-local-live-inference": ("live", "stepfunctions/ndr-local-live-inference.asl.json"),
        "ndr-local-backfill": ("backfill", "stepfunctions/ndr-local-backfill.asl.json"),
        "ndr-local-live-outcome": ("outcome", "stepfunctions/ndr-local-live-outcome.asl.json"),
    }
    pipelines = sorted(e["path"] for e in manifest["artifacts"] if e["kind"] == "sagemaker_pipeline")
    assert pipelines == [f"sagemaker/ndr-local-{k}.json" for k in sorted(FLOWS_BY_KEY)]
    policies = sorted(e["name"] for e in manifest["artifacts"] if e["kind"] == "iam_policy")
    assert policies == [
        "ndr-local-backfill",
        "ndr-local-live-entry-pipe",
        "ndr-local-live-inference",
        "ndr-local-live-outcome",
        "ndr-local-live-outcome-rule",
        "ndr-local-sagemaker-pipelines",
        "ndr-local-schedules",
    ]


def test_compile_is_byte_identical(builds: dict[str, CompileResult]) -> None:
    compiled = builds["local"].compiled
    assert compiled is not None
    first = stepfunctions.build_artifacts(compiled) + sagemaker.build_artifacts(compiled)
    again = stepfunctions.build_artifacts(compiled) + sagemaker.build_artifacts(compiled)
    assert [a.content for a in first] == [a.content for a in again]
    for artifact in first:
        if artifact.path.endswith(".json"):
            text = artifact.content.decode()
            assert text.endswith("}\n") and text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def _without_redrive(state: dict[str, Any]) -> dict[str, Any]:
    """A live state as `lock_and_start` built it, before `with_redrive` sent its failures via `Redeliver`."""
    state = json.loads(json.dumps(state))
    for target in [state, *state.get("Catch", [])]:
        if target.get("Next") == "Redeliver":
            failure = target["Assign"].pop("failure")
            target["Next"] = failure.removeprefix("{% {'state': \"").removesuffix('"} %}')
            if not target["Assign"]:
                del target["Assign"]
    return state


def test_lock_and_start_is_one_fragment_in_both_flows(builds: dict[str, CompileResult]) -> None:
    live = {k: _without_redrive(v) for k, v in _doc(builds["local"], "ndr-local-live-inference")["States"].items()}
    item = _doc(builds["local"], "ndr-local-backfill")["States"]["ProcessWindows"]["ItemProcessor"]["States"]
    for name in SHARED_STATES:
        # a backfill child answers one word (its Map's result array must fit 256 KB): Duplicate's Output
        expected = {k: v for k, v in item[name].items() if not (name == "Duplicate" and k == "Output")}
        assert live[name] == expected, name
    assert item["Duplicate"]["Output"] == "{% 'duplicate' %}"
    start_live, start_item = dict(live["StartPipeline"]), dict(item["StartPipeline"])
    assert start_live.pop("End") is True and start_item.pop("Next") == "CheckPipeline"
    assert start_live == start_item


def test_every_aws_call_retries_throttling(builds: dict[str, CompileResult]) -> None:
    def tasks(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for name, state in states.items():
            if state["Type"] == "Task":
                found.append((name, state))
            if state["Type"] == "Map":
                found += tasks(state["ItemProcessor"]["States"])
        return found

    for machine in ("ndr-local-live-inference", "ndr-local-backfill"):
        document = _doc(builds["local"], machine)
        assert document["QueryLanguage"] == "JSONata"
        for name, state in tasks(document["States"]):
            errors = {e for retry in state.get("Retry", []) for e in retry["ErrorEquals"]}
            # SendMessage retries every task failure (a duplicate message is absorbed by the lock)
            throttled = {"States.TaskFailed"} if state["Resource"].endswith(":sqs:sendMessage") else set()
            assert any("Throttl" in e or "ThroughputExceeded" in e for e in errors) or errors & throttled, name
            assert all(r["BackoffRate"] > 1 and r["MaxAttempts"] >= 3 for r in state["Retry"]), (machine, name)


def test_a_backfill_of_its_maximum_windows_fits_the_state_output_quota(builds: dict[str, CompileResult]) -> None:
    """No window list travels through SendTaskSuccess or a variable (the Map reads the items file); the Map's
    result array holds one short word per window, so MAX_BACKFILL_WINDOWS of them fit the 256 KB quota
    (Step Functions quotas: "Maximum input or output size for a task, state, or execution")."""
    backfill = _doc(builds["local"], "ndr-local-backfill")["States"]
    process = backfill["ProcessWindows"]
    assert "Items" not in process and process["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert process["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    text = json.dumps(backfill)
    assert "$states.result.windows" not in text and "$extracted.windows" not in text
    children = process["ItemProcessor"]["States"]
    answers = {name: s.get("Output") for name, s in children.items() if s["Type"] == "Succeed"}
    assert answers == {"Duplicate": "{% 'duplicate' %}", "WindowDone": "{% 'completed' %}"}
    longest = max(len(json.dumps(a.removeprefix("{% '").removesuffix("' %}"))) + 1 for a in answers.values())
    assert longest <= machines.WINDOW_RESULT_BYTES
    assert machines.MAX_BACKFILL_WINDOWS * machines.WINDOW_RESULT_BYTES + 2 <= 256 * 1024
    assert f"$extracted.count > {machines.MAX_BACKFILL_WINDOWS}" in json.dumps(backfill["CheckWindows"])
    # 2,000 windows: a 24 KB result array; the extractor's SendTaskSuccess stays a pointer of ~200 bytes
    assert 2000 * longest < 256 * 1024 // 10


def test_named_failures_exist(builds: dict[str, CompileResult]) -> None:
    live = _doc(builds["local"], "ndr-local-live-inference")["States"]
    fails = {name for name, state in live.items() if state["Type"] == "Fail"}
    assert fails == {
        "InvalidEvent",
        "InvalidBatchKey",
        "InvalidTimestamp",
        "LookupFailed",
        "RouteDisabled",
        "RouteProjectMismatch",
        "UnknownProject",
        "MissingProjectDefaults",
        "MissingJobSpecs",
        "LockFailed",
        "PipelineStartFailed",
    }
    assert all(live[name]["Error"] == name and live[name]["Cause"] for name in fails)


def _with_settings(compiled: CompiledWorkspace, **extra: Any) -> CompiledWorkspace:
    env = compiled.environment
    return replace(compiled, environment=EnvironmentConfig(env.name, {**env.settings, **extra}))


def test_backfill_settings_come_from_ndrc_yaml(builds: dict[str, CompileResult]) -> None:
    compiled = builds["local"].compiled
    assert compiled is not None
    tuned = _with_settings(
        compiled, orchestration={"backfill_max_concurrency": 7, "lock_ttl_days": 2, "extractor_timeout_seconds": 600}
    )
    artifacts = {a.role: json.loads(a.content) for a in stepfunctions.build_artifacts(tuned)}
    backfill, live = artifacts["backfill"], artifacts["live"]
    branches = backfill["States"]["RunExtractor"]["Branches"]
    assert branches[0]["States"]["AwaitWindows"]["TimeoutSeconds"] == 600
    extractor_status = branches[1]["States"]["ExtractorStatus"]["Choices"][-1]
    assert extractor_status == {"Condition": "{% $states.input.polls >= 10 %}", "Next": "ExtractorWaitExceeded"}
    assert "$in.max_concurrency : 7" in backfill["States"]["ParseRequest"]["Assign"]["subject"]
    assert backfill["States"]["ProcessWindows"]["MaxConcurrency"] == "{% $subject.max_concurrency %}"
    assert "+ 172800)" in live["States"]["AcquireLock"]["Arguments"]["Item"]


def test_feature_pipeline_dag_and_parameters(builds: dict[str, CompileResult]) -> None:
    document = _doc(builds["local"], "ndr-local-feature-15m")
    steps = {step["Name"]: step for step in document["Steps"]}
    assert {name: step.get("DependsOn", []) for name, step in steps.items()} == {
        "ResolveSpecs": [],
        "DeltaBuilder": ["ResolveSpecs"],
        "FgABuilder": ["DeltaBuilder"],
        "PairCountsBuilder": ["ResolveSpecs"],
        "FgCBuilder": ["FgABuilder", "PairCountsBuilder"],
        "InferencePredictions": ["FgCBuilder"],
        "PredictionFeatureJoin": ["InferencePredictions"],
    }
    declared = {p["Name"]: p for p in document["Parameters"]}
    used = set()
    for step in document["Steps"]:
        _collect_gets(step, used)
    assert used == set(declared), "every parameter is used and every used parameter is declared"
    entry = steps["ResolveSpecs"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert entry[0] == "pipeline_entry"
    # PredictionFeatureJoin is optional: the entry does not require its spec (the step skips itself without one).
    assert entry[-2:] == ["--jobs", "delta_builder,fg_a_builder,pair_counts_builder,fg_c_builder,inference_predictions"]
    delta = steps["DeltaBuilder"]["Arguments"]
    assert delta["AppSpecification"]["ContainerArguments"] == [
        "delta_builder",
        "--project-name",
        {"Get": "Parameters.ProjectName"},
        "--feature-spec-version",
        {"Get": "Parameters.FeatureSpecVersion"},
        "--mini-batch-id",
        {"Get": "Parameters.MiniBatchId"},
        "--mini-batch-s3-prefix",
        {"Get": "Parameters.MiniBatchS3Prefix"},
        "--batch-start-ts-iso",
        {"Get": "Parameters.BatchStartTsIso"},
        "--batch-end-ts-iso",
        {"Get": "Parameters.BatchEndTsIso"},
    ]
    assert delta["AppSpecification"]["ContainerEntrypoint"][0] == "smspark-submit"
    assert delta["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.DeltaBuilderInstanceType"
    }
    assert declared["DeltaBuilderInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    digest = runtime_bundle().digest
    assert delta["ProcessingInputs"][0]["S3Input"]["S3Uri"] == f"s3://ndr-artifacts-local/runtime/{digest}/"
    assert delta["Environment"]["ML_PROJECTS_PARAMETERS_TABLE_NAME"] == "ml_projects_parameters"


def test_training_pipeline_is_a_chain_on_training_instances(builds: dict[str, CompileResult]) -> None:
    document = _doc(builds["prod"], "ndr-prod-if-training")
    names = [step["Name"] for step in document["Steps"]]
    assert names == [
        "ResolveSpecs",
        "TrainingDataVerifier",
        "MissingFeatureCreation",
        "IfTraining",
        "ModelPublish",
        "ModelAttributes",
        "ModelDeploy",
    ]
    for before, step in zip(names, document["Steps"][1:], strict=False):
        assert step["DependsOn"] == [before]
    declared = {p["Name"]: p.get("DefaultValue") for p in document["Parameters"]}
    assert declared["IfTrainingInstanceType"] == "ml.m5.4xlarge"  # prod's training instance type
    assert declared["ModelDeployInstanceType"] == "ml.m5.2xlarge"  # prod's processing instance type


def _collect_gets(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            found.add(value["Get"].removeprefix("Parameters."))
        for child in value.values():
            _collect_gets(child, found)
    elif isinstance(value, list):
        for child in value:
            _collect_gets(child, found)


def test_runtime_bundle_is_content_addressed(tmp_path: Path) -> None:
    copy = tmp_path / "runtime"
    shutil.copytree(package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    first, again = runtime_bundle(copy), runtime_bundle.__wrapped__(copy)
    assert first.archive == again.archive and first.digest == again.digest
    assert first.digest == runtime_bundle().digest
    (copy / "errors.py").write_text((copy / "errors.py").read_text() + "\n# changed\n")
    assert runtime_bundle.__wrapped__(copy).digest != first.digest
    assert "runtime/__main__.py" in first.sources


def test_values_enter_expressions_as_json_literals_only() -> None:
    hostile = "x' & $eval('1') & '\\"
    items = {"b": 1, "a": [1]}
    text = jsonata.inline("$f(#{value}, #{items}, #{source})", value=hostile, items=items, source=jsonata.Jsonata("$x"))
    assert text == '$f("x\' & $eval(\'1\') & \'\\\\", {"a": [1], "b": 1}, $x)'
    assert jsonata.field("  'two  spaces'   &\n   $x  ") == "{% 'two  spaces' & $x %}"


def test_expression_placeholders_and_values_must_match() -> None:
    with pytest.raises(jsonata.ExpressionError, match=r":1: no value for #\{missing\}"):
        jsonata.inline("$a & #{missing}")
    with pytest.raises(jsonata.ExpressionError, match="has no placeholder for extra"):
        jsonata.inline("$a", extra=1)
    with pytest.raises(jsonata.ExpressionError, match=r"expressions/event.jsonata:\d+: no value for"):
        jsonata.expression("event")


def test_every_expression_file_is_used_and_opens_with_its_purpose() -> None:
    files = sorted(p.stem for p in jsonata.EXPRESSIONS_DIR.glob("*.jsonata"))
    assert files, "expression files ship next to the code"
    builders = Path(stepfunctions.__file__).resolve().parents[1] / "orchestration" / "stepfunctions.py"
    text = builders.read_text()
    for name in files:
        assert f'"{name}"' in text, f"expressions/{name}.jsonata is not used"
        assert (jsonata.EXPRESSIONS_DIR / f"{name}.jsonata").read_text().startswith("/*"), name


@pytest.mark.parametrize("prefix", ["", "Team-A-"])
def test_names_follow_the_prefix(builds: dict[str, CompileResult], prefix: str) -> None:
    compiled = builds["local"].compiled
    assert compiled is not None
    renamed = _with_settings(compiled, name_prefix=prefix)
    names = sorted(a.name for a in stepfunctions.build_artifacts(renamed))
    assert names == [f"{prefix}backfill", f"{prefix}live-inference", f"{prefix}live-outcome"]
    live = next(json.loads(a.content) for a in stepfunctions.build_artifacts(renamed) if a.role == "live")
    assert live["States"]["StartPipeline"]["Arguments"]["PipelineName"] == f"{prefix}feature-15m"


def test_processing_network_and_volume_key_come_from_the_environment(
    builds: dict[str, CompileResult], aws_schemas: Path
) -> None:
    import jsonschema

    from compiler.targets import iam

    compiled = builds["prod"].compiled
    assert compiled is not None
    key = "arn:aws:kms:eu-west-1:345678901234:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    tuned = _with_settings(
        compiled,
        processing={"subnets": ["subnet-0a1b"], "security_group_ids": ["sg-0c2d"], "volume_kms_key_id": key},
    )
    schema = json.loads((aws_schemas / "sagemaker-pipeline-definition.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    for artifact in (a for a in sagemaker.build_artifacts(tuned) if a.kind == sagemaker.KIND):
        definition = json.loads(artifact.content)
        assert [e.message for e in validator.iter_errors(definition)] == [], artifact.name
        for step in definition["Steps"]:
            arguments = step["Arguments"]
            assert arguments["NetworkConfig"]["VpcConfig"] == {
                "SecurityGroupIds": ["sg-0c2d"],
                "Subnets": ["subnet-0a1b"],
            }
            assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    policy = next(json.loads(a.content) for a in iam.build_artifacts(tuned) if a.name.endswith("pipelines"))
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["EncryptProcessingVolumes"]["Resource"] == [key]
    assert "ec2:CreateNetworkInterface" in sids["ProcessingInVpc"]["Action"]
    plain = json.loads(next(a.content for a in sagemaker.build_artifacts(compiled) if a.kind == sagemaker.KIND))
    assert all("NetworkConfig" not in step["Arguments"] for step in plain["Steps"])
