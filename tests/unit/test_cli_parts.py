"""Pure parts of the `ict-guard` CLI: CloudTrail event-selector evaluation, `--since`, the
progress display, and AWS errors turned into messages (no AWS, no network)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import click
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)
from click.testing import CliRunner
from rich.console import Console

from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli, parse_since
from ict_guard_cli.render import RichProgress
from ict_guard_cli.session import explain_aws_error
from ict_guard_cli.trails import advanced_selectors_log_writes, basic_selectors_log_writes

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([{"ReadWriteType": "All", "IncludeManagementEvents": True}], True),
        ([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}], True),
        ([{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}], False),
        ([{"ReadWriteType": "All", "IncludeManagementEvents": False}], False),
        ([{"ReadWriteType": "ReadOnly"}, {"ReadWriteType": "WriteOnly"}], True),
        ([{"ReadWriteType": "All", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}], True),
        ([], False),
    ],
)
def test_basic_event_selectors(selectors, expected):
    assert basic_selectors_log_writes(selectors) is expected


def _selector(*fields):
    return {"Name": "s", "FieldSelectors": list(fields)}


CATEGORY = {"Field": "eventCategory", "Equals": ["Management"]}


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([_selector(CATEGORY)], True),
        ([_selector(CATEGORY, {"Field": "readOnly", "Equals": ["false"]})], True),
        ([_selector(CATEGORY, {"Field": "readOnly", "Equals": ["true"]})], False),
        ([_selector(CATEGORY, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]})], True),
        (
            [_selector(CATEGORY, {"Field": "eventSource", "NotEquals": ["sagemaker.amazonaws.com"]})],
            False,
        ),
        ([_selector(CATEGORY, {"Field": "eventSource", "StartsWith": ["sage"]})], True),
        (
            [
                _selector(
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                )
            ],
            False,
        ),
        ([_selector({"Field": "eventCategory", "Equals": ["Data"]}), _selector(CATEGORY)], True),
        ([{"Name": "empty", "FieldSelectors": []}], False),
    ],
)
def test_advanced_event_selectors(selectors, expected):
    assert advanced_selectors_log_writes(selectors) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", NOW - dt.timedelta(days=7)),
        ("12h", NOW - dt.timedelta(hours=12)),
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
        ("2026-11-01T08:00:00+02:00", dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)),
    ],
)
def test_since(value, expected):
    assert parse_since(value, NOW) == expected


@pytest.mark.parametrize("value", ["yesterday", "7", "-3d", "2027-01-01"])
def test_since_rejects(value):
    with pytest.raises(click.BadParameter):
        parse_since(value, NOW)


def test_progress_phases_render_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with RichProgress(console) as progress:
        advance = progress.phase("Describing 3 training-job(s)", total=3)
        for _ in range(3):
            advance(1)
        progress.phase("Checking CloudTrail")
    assert "Describing 3 training-job(s)" in buffer.getvalue()


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (NoCredentialsError(), ExitCode.AWS_ERROR, "no AWS credentials found"),
        (NoRegionError(), ExitCode.USAGE, "no AWS region"),
        (ProfileNotFound(profile="nope"), ExitCode.USAGE, "nope"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            ExitCode.AWS_ERROR,
            "cannot reach AWS",
        ),
        (
            ClientError({"Error": {"Code": "ExpiredToken", "Message": "x"}}, "ListTrainingJobs"),
            ExitCode.AWS_ERROR,
            "AWS rejected the credentials (ExpiredToken on ListTrainingJobs)",
        ),
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "x"}}, "ListTrainingJobs"),
            ExitCode.AWS_ERROR,
            "permission denied: ListTrainingJobs",
        ),
        (
            ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                "DescribeTrainingJob",
            ),
            ExitCode.AWS_ERROR,
            "DescribeTrainingJob failed: ThrottlingException: slow down",
        ),
    ],
)
def test_aws_errors_become_one_message_and_an_exit_code(error, code, text):
    explained = explain_aws_error(error)
    assert explained.exit_code == code
    assert text in explained.message


def test_missing_credentials_end_the_command_with_a_hint_not_a_traceback(monkeypatch, tmp_path):
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for variable in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(variable, raising=False)

    result = CliRunner().invoke(cli, ["scan"])
    assert result.exit_code == ExitCode.AWS_ERROR
    assert "no AWS credentials found" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    result = CliRunner().invoke(cli, ["--profile", "nope", "explain", "some-job"])
    assert result.exit_code == ExitCode.USAGE and "nope" in result.stderr


def test_the_lambda_layer_stays_free_of_the_cli_and_its_dependencies():
    layer = Path(__file__).parents[2] / "layers" / "ict_guard" / "python" / "ict_guard"
    imports = re.compile(r"^\s*(?:from|import)\s+(click|rich|ict_guard_cli)\b", re.MULTILINE)
    offenders = [p.name for p in layer.glob("*.py") if imports.search(p.read_text())]
    assert offenders == []
