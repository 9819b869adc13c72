"""`ict-guard scan` reads SageMaker pipelines on moto (CreatePipeline, ListPipelines,
DescribePipeline): every training, tuning, processing and AutoML step without the flag is a
finding, judged as `iac` judges the same definition file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws

from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineRole"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iac" / "churn-pipeline.json"
ONLY_PIPELINES = (
    "--skip",
    "jobs",
    "--skip",
    "security-groups",
    "--skip",
    "cloudtrail",
    "--skip",
    "stack",
)


def scan(*args: str) -> Any:
    return CliRunner().invoke(cli, ["scan", *ONLY_PIPELINES, *args], catch_exceptions=False)


def encrypted_pipeline() -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            {
                "Name": "Train",
                "Type": "Training",
                "Arguments": {
                    "ResourceConfig": {"InstanceCount": 4, "InstanceType": "ml.p4d.24xlarge"},
                    "EnableInterContainerTrafficEncryption": True,
                },
            }
        ],
    }


@pytest.fixture
def sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def test_scan_finds_the_steps_of_a_pipeline_without_the_flag(sagemaker):
    sagemaker.create_pipeline(
        PipelineName="churn", PipelineDefinition=EXAMPLE.read_text(), RoleArn=ROLE
    )
    sagemaker.create_pipeline(
        PipelineName="resnet", PipelineDefinition=json.dumps(encrypted_pipeline()), RoleArn=ROLE
    )
    result = CliRunner().invoke(cli, ["--json", "scan", *ONLY_PIPELINES])
    assert result.exit_code == ExitCode.FINDINGS, result.output
    document = json.loads(result.stdout)
    assert document["pipelines"]["listed"] == 2 and document["errors"] == []
    findings = {f["resource"]: f for f in document["findings"]}
    assert set(findings) == {
        "pipeline/churn/TrainChurnModel",  # InstanceCount is a pipeline parameter: unknown
        "pipeline/churn/CheckAccuracy/ElseSteps/ChurnAutoML",
    }
    assert all(f["check"] == "pipelines" for f in findings.values())
    assert (
        "Parameters.TrainingInstanceCount" in findings["pipeline/churn/TrainChurnModel"]["message"]
    )
    rows = {row["name"]: row for row in document["pipelines"]["pipelines"]}
    assert all(not step["finding"] for step in rows["resnet"]["steps"])

    text = scan()
    assert text.exit_code == ExitCode.FINDINGS
    assert "SageMaker pipelines" in text.stdout and "churn/TrainChurnModel" in text.stdout
    assert "2 pipeline(s), 6 job step(s), 2 without the flag" in text.stdout


def test_scan_with_only_encrypted_pipelines_is_clean_and_skip_leaves_them_out(sagemaker):
    sagemaker.create_pipeline(
        PipelineName="resnet", PipelineDefinition=json.dumps(encrypted_pipeline()), RoleArn=ROLE
    )
    assert scan().exit_code == ExitCode.OK
    result = CliRunner().invoke(cli, ["--json", "scan", *ONLY_PIPELINES, "--skip", "pipelines"])
    assert json.loads(result.stdout)["pipelines"] is None


def test_a_refused_list_makes_the_scan_incomplete(sagemaker, monkeypatch):
    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListPipelines"
        )

    sagemaker.create_pipeline(
        PipelineName="churn", PipelineDefinition=EXAMPLE.read_text(), RoleArn=ROLE
    )
    original = boto3.session.Session.client

    def client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        made = original(self, service, *args, **kwargs)
        if service == "sagemaker":
            made.meta.events.register("before-call.sagemaker.ListPipelines", refuse)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    result = CliRunner().invoke(cli, ["--json", "scan", *ONLY_PIPELINES])
    assert result.exit_code == ExitCode.AWS_ERROR
    document = json.loads(result.stdout)
    assert document["errors"][0]["check"] == "pipelines"
    assert "ListPipelines" in document["errors"][0]["message"]
