"""An unreachable AWS endpoint fails fast (the account check is tried at most twice) with one sentence."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.deploy.aws import Aws
from compiler.errors import UsageError
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]


def test_an_unreachable_endpoint_is_one_sentence_after_at_most_two_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    shutil.copy(REPO / "ndrc.yaml", tmp_path / "ndrc.yaml")
    config = yaml.safe_load((tmp_path / "ndrc.yaml").read_text())
    config["environments"]["dev"]["endpoint_url"] = "http://127.0.0.2:9"  # loopback range, not the emulator: refused
    (tmp_path / "ndrc.yaml").write_text(yaml.safe_dump(config))
    aws = Aws(load_workspace(tmp_path).environment("dev"))
    attempts: list[Any] = []
    aws.session.events.register("before-send.sts.*", lambda **kwargs: attempts.append(kwargs))
    with pytest.raises(UsageError) as raised:
        aws.check_account()
    message = str(raised.value)
    assert message == "cannot reach the AWS endpoint http://127.0.0.2:9/ to check the account of environment 'dev'"
    assert 1 <= len(attempts) <= 2
