"""`ict-guard defaults`: the SageMaker Python SDK config it prints, --merge into an existing file,
--check of a file, and the exit codes.

The SDK itself is not a dependency of the test venv (sagemaker 2.257 needs attrs<26, the pinned set
has 26.1): the last tests validate with the SDK's own schema and loader in .venv-sdk, which
`make test` creates; without it they skip, except in CI (CI=true), where they fail."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli
from ict_guard_cli.sdk_defaults import FLAG_PATHS, check_config, dotted, merge_defaults

pytestmark = pytest.mark.unit

FLAG = "EnableInterContainerTrafficEncryption"


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _value(config: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


def test_printed_config_sets_every_path_true_and_nothing_else() -> None:
    result = _run("defaults")
    assert result.exit_code == ExitCode.OK
    assert result.stdout.startswith("# SageMaker Python SDK defaults")
    config = yaml.safe_load(result.stdout)
    assert config["SchemaVersion"] == "1.0"
    for path, _ in FLAG_PATHS:
        assert _value(config, path) is True, dotted(path)
    assert all(c.ok for c in check_config(config))
    paths = {dotted(p) for p, _ in FLAG_PATHS}
    assert {
        f"SageMaker.TrainingJob.{FLAG}",
        f"SageMaker.ProcessingJob.NetworkConfig.{FLAG}",
        f"SageMaker.AutoMLJob.AutoMLJobConfig.SecurityConfig.{FLAG}",
        f"SageMaker.AutoMLJobV2.SecurityConfig.{FLAG}",
        f"SageMaker.MonitoringSchedule.MonitoringScheduleConfig.MonitoringJobDefinition.NetworkConfig.{FLAG}",
        f"SageMaker.PythonSDK.Modules.RemoteFunction.{FLAG}",
    } <= paths
    assert "explicit" in result.stderr and "SAGEMAKER_ADMIN_CONFIG_OVERRIDE" in result.stderr


EXISTING = """\
SchemaVersion: '1.0'
SageMaker:
  TrainingJob:
    EnableInterContainerTrafficEncryption: false
    VpcConfig:
      SecurityGroupIds: [sg-0a1b2c3d4e5f67890]
      Subnets: [subnet-0a1b2c3d4e5f67890]
  ProcessingJob:
    NetworkConfig:
      EnableInterContainerTrafficEncryption: true
      EnableNetworkIsolation: true
  PythonSDK:
    Modules:
      Session:
        DefaultS3Bucket: example-ml-artifacts
"""


def test_merge_keeps_the_file_and_turns_every_path_on(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(EXISTING)
    result = _run("defaults", "--merge", str(path))
    assert result.exit_code == ExitCode.OK
    merged = yaml.safe_load(result.stdout)
    assert all(c.ok for c in check_config(merged))
    assert merged["SageMaker"]["TrainingJob"]["VpcConfig"]["Subnets"] == ["subnet-0a1b2c3d4e5f67890"]
    assert merged["SageMaker"]["ProcessingJob"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert merged["SageMaker"]["PythonSDK"]["Modules"]["Session"] == {"DefaultS3Bucket": "example-ml-artifacts"}
    assert path.read_text() == EXISTING  # the file itself is not changed
    assert f"{len(FLAG_PATHS) - 1} path(s) set to true" in result.stderr
    document = json.loads(_run("--json", "defaults", "--merge", str(path)).stdout)
    assert f"SageMaker.ProcessingJob.NetworkConfig.{FLAG}" not in document["changed"]
    assert f"SageMaker.TrainingJob.{FLAG}" in document["changed"]


def test_merge_is_idempotent() -> None:
    once, _ = merge_defaults(yaml.safe_load(EXISTING))
    twice, changed = merge_defaults(once)
    assert twice == once and changed == []


def test_check_reports_every_path_missing_or_false(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(EXISTING)
    result = _run("defaults", "--check", str(path))
    assert result.exit_code == ExitCode.FINDINGS
    assert f"SageMaker.TrainingJob.{FLAG}: false" in result.stdout
    assert f"SageMaker.AutoMLJobV2.SecurityConfig.{FLAG}: missing" in result.stdout
    document = json.loads(_run("--json", "defaults", "--check", str(path)).stdout)
    states = {p["path"]: p["state"] for p in document["paths"]}
    assert states[f"SageMaker.ProcessingJob.NetworkConfig.{FLAG}"] == "true"
    assert document["missing_or_false"] == len(FLAG_PATHS) - 1 and document["exit_code"] == 1
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(_run("defaults", "--merge", str(path)).stdout)
    assert _run("defaults", "--check", str(fixed)).exit_code == ExitCode.OK


def test_check_counts_a_string_as_not_boolean(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("SchemaVersion: '1.0'\nSageMaker:\n  TrainingJob:\n    " + FLAG + ": 'true'\n")
    result = _run("--json", "defaults", "--check", str(path))
    states = {p["path"]: p["state"] for p in json.loads(result.stdout)["paths"]}
    assert states[f"SageMaker.TrainingJob.{FLAG}"] == "not-boolean"


@pytest.mark.parametrize(
    ("content", "args"),
    [
        (EXISTING, ["--merge", "{f}", "--check", "{f}"]),
        ("SageMaker:\n  TrainingJob: yes\n", ["--merge", "{f}"]),  # not a mapping where one goes
        ("- a list\n", ["--check", "{f}"]),
        ("SageMaker: [unclosed\n", ["--merge", "{f}"]),
        (None, ["--check", "/no/such/config.yaml"]),
    ],
)
def test_bad_files_exit_2_in_one_line(tmp_path: Path, content: str | None, args: list[str]) -> None:
    path = tmp_path / "config.yaml"
    if content is not None:
        path.write_text(content)
    result = _run("defaults", *[a.replace("{f}", str(path)) for a in args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output


# The SDK lives in its own venv (requirements/sdk.txt; `make test` creates it): sagemaker 2.257 pins
# attrs<26, which clashes with the pinned test set (attrs 26.1). The SDK's own code validates there
# (scripts/validate_sdk_config.py): its schema module with jsonschema, then its config loader.
REPO_ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = REPO_ROOT / ".venv-sdk" / "bin" / "python"
VALIDATE_SDK_CONFIG = REPO_ROOT / "scripts" / "validate_sdk_config.py"


def _validate_with_the_sdk(tmp_path: Path, config: Any) -> tuple[int, dict[str, Any]]:
    if not SDK_PYTHON.exists():
        message = "needs .venv-sdk with the SageMaker Python SDK: run `make test` (or `make sdk-venv`) once"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)  # never a silent skip in CI
        # Outside CI, a bare `pytest` (without `make test`, which builds the venv) says what to run.
        pytest.skip(message)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    done = subprocess.run(
        [str(SDK_PYTHON), str(VALIDATE_SDK_CONFIG), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_valid_against_the_sdks_own_schema(tmp_path: Path) -> None:
    config = yaml.safe_load(_run("defaults").stdout)
    code, result = _validate_with_the_sdk(tmp_path, config)
    assert result["sdk_version"] == "2.257.7"  # the pin in requirements/sdk.txt
    assert (code, result["error"]) == (0, None)
    # Every path the SDK's schema declares for the flag is one `defaults` writes (the ModelTrainer's
    # free-form space is ours on top).
    assert set(result["declared_paths"]) == {dotted(p) for p, _ in FLAG_PATHS if "ModelTrainer" not in p}


@pytest.mark.parametrize(
    ("path", "value", "error_path"),
    [
        # the flag as a string: the schema wants a boolean
        (("SageMaker", "TrainingJob", FLAG), "true", ["SageMaker", "TrainingJob", FLAG]),
        # a misspelt key where the schema allows no others
        (
            ("SageMaker", "ProcessingJob", "NetworkConfig", "EnableInterContainerTrafficEncription"),
            True,
            ["SageMaker", "ProcessingJob", "NetworkConfig"],
        ),
    ],
)
def test_the_sdk_rejects_a_broken_config(
    tmp_path: Path, path: tuple[str, ...], value: Any, error_path: list[str]
) -> None:
    # The proof that the check above can fail: one key of the generated config broken on purpose.
    config = yaml.safe_load(_run("defaults").stdout)
    parent = _value(config, path[:-1])
    parent.pop(FLAG, None)
    parent[path[-1]] = value
    code, result = _validate_with_the_sdk(tmp_path, config)
    assert code == 1 and not result["valid"]
    assert result["error_path"] == error_path, result["error"]
