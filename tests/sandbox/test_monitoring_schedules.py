"""The embedded SageMaker's model monitoring (sandbox/monitoring_extension.py): job definitions,
schedules, their executions (processing jobs), CloudTrail events and the service rules."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from sandbox import cloudtrail, monitoring_extension, sagemaker_extension, service_rules

pytestmark = pytest.mark.sandbox

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/monitoring"
KINDS = ("DataQuality", "ModelBias", "ModelExplainability", "ModelQuality")
SNAKE = {
    "DataQuality": "data_quality",
    "ModelBias": "model_bias",
    "ModelExplainability": "model_explainability",
    "ModelQuality": "model_quality",
}
ARN_RESOURCE = {
    "DataQuality": "data-quality-job-definition",
    "ModelBias": "model-bias-job-definition",
    "ModelExplainability": "model-explainability-job-definition",
    "ModelQuality": "model-quality-job-definition",
}
NETWORK = {
    "EnableInterContainerTrafficEncryption": False,
    "EnableNetworkIsolation": True,
    "VpcConfig": {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-a", "subnet-b"]},
}
CLUSTER = {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}
OUTPUT = {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/out", "LocalPath": "/opt/ml/processing/output"}}]}
IMAGE = "156813124566.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def _endpoint_input(endpoint: str = "churn") -> dict[str, Any]:
    return {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input/endpoint"}


def definition_request(kind: str, name: str = "def-1", endpoint: str = "churn", **overrides: Any) -> dict[str, Any]:
    """A Create<kind>JobDefinition request on `endpoint`, 2 instances, unencrypted, in a VPC."""
    app: dict[str, Any] = {"ImageUri": IMAGE}
    job_input: dict[str, Any] = {"EndpointInput": _endpoint_input(endpoint)}
    if kind in ("ModelBias", "ModelExplainability"):
        app["ConfigUri"] = "s3://bucket/analysis_config.json"
    if kind == "ModelQuality":
        app["ProblemType"] = "BinaryClassification"
    if kind in ("ModelBias", "ModelQuality"):
        job_input["GroundTruthS3Input"] = {"S3Uri": "s3://bucket/ground-truth"}
    if kind == "DataQuality":
        app["Environment"] = {"publish_cloudwatch_metrics": "Enabled"}
    request: dict[str, Any] = {
        "JobDefinitionName": name,
        f"{kind}AppSpecification": app,
        f"{kind}JobInput": job_input,
        f"{kind}JobOutputConfig": copy.deepcopy(OUTPUT),
        "JobResources": copy.deepcopy(CLUSTER),
        "NetworkConfig": copy.deepcopy(NETWORK),
        "RoleArn": ROLE_ARN,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }
    request.update(overrides)
    return request


def inline_definition(endpoint: str = "churn", **overrides: Any) -> dict[str, Any]:
    """An inline MonitoringJobDefinition (a data-quality job), unencrypted, 2 instances."""
    definition: dict[str, Any] = {
        "MonitoringInputs": [{"EndpointInput": _endpoint_input(endpoint)}],
        "MonitoringOutputConfig": copy.deepcopy(OUTPUT),
        "MonitoringResources": copy.deepcopy(CLUSTER),
        "MonitoringAppSpecification": {"ImageUri": IMAGE},
        "NetworkConfig": copy.deepcopy(NETWORK),
        "RoleArn": ROLE_ARN,
    }
    definition.update(overrides)
    return definition


HOURLY = {"ScheduleExpression": "cron(0 * ? * * *)"}


def named_config(definition: str = "def-1", kind: str = "DataQuality") -> dict[str, Any]:
    return {"ScheduleConfig": dict(HOURLY), "MonitoringJobDefinitionName": definition, "MonitoringType": kind}


def inline_config(**overrides: Any) -> dict[str, Any]:
    return {"ScheduleConfig": dict(HOURLY), "MonitoringJobDefinition": inline_definition(**overrides)}


def create_definition(sagemaker: Any, kind: str, name: str = "def-1", **overrides: Any) -> str:
    create = getattr(sagemaker, f"create_{SNAKE[kind]}_job_definition")
    return create(**definition_request(kind, name, **overrides))["JobDefinitionArn"]


def describe_definition(sagemaker: Any, kind: str, name: str) -> dict[str, Any]:
    return getattr(sagemaker, f"describe_{SNAKE[kind]}_job_definition")(JobDefinitionName=name)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _refused_by(excinfo: pytest.ExceptionInfo[ClientError], rule_id: str, **values: Any) -> str:
    entry = service_rules.rule(rule_id)
    code, message = _error(excinfo)
    assert code == entry.error_code == "ValidationException"
    assert message == entry.message.format(**values)
    return message


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- job definitions ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_each_job_definition_describes_everything_its_create_carried(
    sagemaker: Any, kind: str, account: str, region: str
) -> None:
    request = definition_request(kind, "def-1", Tags=[{"Key": "team", "Value": "ml"}])
    arn = getattr(sagemaker, f"create_{SNAKE[kind]}_job_definition")(**request)["JobDefinitionArn"]

    described = describe_definition(sagemaker, kind, "def-1")

    assert arn == f"arn:aws:sagemaker:{region}:{account}:{ARN_RESOURCE[kind]}/def-1"
    assert described["JobDefinitionArn"] == arn
    assert described["JobDefinitionName"] == "def-1"
    for member, value in request.items():
        if member != "Tags":
            assert described[member] == value, member
    assert described["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert described["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-a", "subnet-b"]
    assert described["JobResources"]["ClusterConfig"]["InstanceCount"] == 2
    assert described["RoleArn"] == ROLE_ARN
    # moto dropped it for explainability definitions.
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    # moto invented an empty BaselineConfig for data quality and bias definitions.
    assert f"{kind}BaselineConfig" not in described
    assert isinstance(described["CreationTime"], datetime)


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_definition_is_tagged_on_its_arn(sagemaker: Any, kind: str) -> None:
    arn = create_definition(sagemaker, kind, Tags=[{"Key": "team", "Value": "ml"}])

    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "risk"}, {"Key": "ict", "Value": "off"}])

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "risk"},
        {"Key": "ict", "Value": "off"},
    ]


def test_a_job_definition_name_is_unique_within_its_kind_only(sagemaker: Any) -> None:
    create_definition(sagemaker, "DataQuality", "shared")

    with pytest.raises(ClientError) as excinfo:
        create_definition(sagemaker, "DataQuality", "shared")

    code, message = _error(excinfo)
    assert code == "ResourceInUse" and "shared" in message
    create_definition(sagemaker, "ModelQuality", "shared")  # another kind, another namespace


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_or_deleted_job_definition_is_not_found(sagemaker: Any, kind: str) -> None:
    create_definition(sagemaker, kind, "gone")
    getattr(sagemaker, f"delete_{SNAKE[kind]}_job_definition")(JobDefinitionName="gone")

    for call in ("describe", "delete"):
        with pytest.raises(ClientError) as excinfo:
            getattr(sagemaker, f"{call}_{SNAKE[kind]}_job_definition")(JobDefinitionName="gone")
        assert _error(excinfo)[0] == "ResourceNotFound"


def test_job_definitions_are_listed_with_filters_and_pages(sagemaker: Any) -> None:
    for index in range(5):
        create_definition(sagemaker, "DataQuality", f"dq-{index}", endpoint="churn" if index % 2 else "fraud")
    create_definition(sagemaker, "ModelBias", "bias-0")

    def names(**params: Any) -> list[str]:
        summaries = sagemaker.list_data_quality_job_definitions(**params)["JobDefinitionSummaries"]
        return [s["MonitoringJobDefinitionName"] for s in summaries]

    assert names() == ["dq-4", "dq-3", "dq-2", "dq-1", "dq-0"]  # newest first by default
    assert names(SortOrder="Ascending", SortBy="Name") == ["dq-0", "dq-1", "dq-2", "dq-3", "dq-4"]
    assert names(EndpointName="churn") == ["dq-3", "dq-1"]
    assert names(NameContains="-2") == ["dq-2"]
    assert names(CreationTimeAfter=datetime.now(UTC) + timedelta(minutes=1)) == []
    first = sagemaker.list_data_quality_job_definitions(MaxResults=2)
    second = sagemaker.list_data_quality_job_definitions(MaxResults=2, NextToken=first["NextToken"])
    third = sagemaker.list_data_quality_job_definitions(MaxResults=2, NextToken=second["NextToken"])
    assert "NextToken" not in third
    paged = [
        s["MonitoringJobDefinitionName"] for page in (first, second, third) for s in page["JobDefinitionSummaries"]
    ]
    assert paged == names()
    [bias] = sagemaker.list_model_bias_job_definitions()["JobDefinitionSummaries"]
    assert bias["EndpointName"] == "churn"  # moto answered "EndpointName" for data quality


def test_job_definitions_are_immutable_there_is_no_update_api(sagemaker_model: Any) -> None:
    updates = [name for name in sagemaker_model.operation_names if re.fullmatch(r"Update\w*JobDefinition", name)]
    assert updates == []


# --- schedules ------------------------------------------------------------------------------------


def test_a_schedule_is_pending_then_scheduled_and_describes_what_was_sent(
    sagemaker: Any, account: str, region: str
) -> None:
    create_definition(sagemaker, "ModelQuality", "quality", endpoint="churn")
    config = named_config("quality", "ModelQuality")

    arn = sagemaker.create_monitoring_schedule(MonitoringScheduleName="nightly", MonitoringScheduleConfig=config)[
        "MonitoringScheduleArn"
    ]
    first = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="nightly")
    second = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="nightly")

    assert arn == f"arn:aws:sagemaker:{region}:{account}:monitoring-schedule/nightly"
    assert first["MonitoringScheduleStatus"] == "Pending"
    assert second["MonitoringScheduleStatus"] == "Scheduled"
    assert first["MonitoringScheduleArn"] == arn
    assert first["MonitoringScheduleName"] == "nightly"
    assert first["MonitoringType"] == "ModelQuality"
    assert first["MonitoringScheduleConfig"] == config
    assert first["EndpointName"] == "churn"  # from the referenced definition
    assert first["CreationTime"] == first["LastModifiedTime"]
    assert "LastMonitoringExecutionSummary" not in first


def test_an_inline_schedule_is_a_data_quality_schedule_with_the_default_stopping_condition(sagemaker: Any) -> None:
    config = inline_config(endpoint="fraud")

    sagemaker.create_monitoring_schedule(MonitoringScheduleName="inline", MonitoringScheduleConfig=config)
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="inline")

    sent = config["MonitoringJobDefinition"]
    kept = described["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert described["MonitoringType"] == "DataQuality"
    assert described["MonitoringScheduleConfig"]["MonitoringType"] == "DataQuality"
    assert kept == {**sent, "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
    assert kept["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert described["EndpointName"] == "fraud"


def test_a_schedule_name_is_unique(sagemaker: Any) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="once", MonitoringScheduleConfig=inline_config())

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="once", MonitoringScheduleConfig=inline_config())

    assert _error(excinfo)[0] == "ResourceInUse"


def test_update_replaces_the_whole_config(sagemaker: Any) -> None:
    create_definition(sagemaker, "DataQuality", "dq")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("dq"))
    before = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")
    encrypted = inline_config(
        endpoint="fraud", NetworkConfig={**NETWORK, "EnableInterContainerTrafficEncryption": True}
    )

    arn = sagemaker.update_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=encrypted)[
        "MonitoringScheduleArn"
    ]
    after = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")

    assert arn == before["MonitoringScheduleArn"]
    config = after["MonitoringScheduleConfig"]
    assert "MonitoringJobDefinitionName" not in config
    assert config["MonitoringJobDefinition"]["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert after["EndpointName"] == "fraud"
    assert after["CreationTime"] == before["CreationTime"]
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    assert after["MonitoringScheduleStatus"] == "Pending"
    assert sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"] == "Scheduled"


def test_update_may_change_the_monitoring_type_to_an_existing_definition_of_the_new_type(sagemaker: Any) -> None:
    # No rule forbids it (see service_rules: the CloudFormation reference updates it in place).
    create_definition(sagemaker, "DataQuality", "dq")
    create_definition(sagemaker, "ModelBias", "bias")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("dq"))

    sagemaker.update_monitoring_schedule(
        MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("bias", "ModelBias")
    )

    assert sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringType"] == "ModelBias"


def test_update_of_an_unknown_schedule_is_not_found(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.update_monitoring_schedule(MonitoringScheduleName="nope", MonitoringScheduleConfig=inline_config())

    assert _error(excinfo)[0] == "ResourceNotFound"


def test_stop_and_start_move_the_schedule_between_stopped_and_scheduled(sagemaker: Any) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())

    def status() -> str:
        return sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"]

    sagemaker.stop_monitoring_schedule(MonitoringScheduleName="s")
    assert status() == "Stopped"
    assert status() == "Stopped"
    sagemaker.start_monitoring_schedule(MonitoringScheduleName="s")
    assert status() == "Scheduled"
    sagemaker.start_monitoring_schedule(MonitoringScheduleName="s")
    assert status() == "Scheduled"
    for call in (sagemaker.stop_monitoring_schedule, sagemaker.start_monitoring_schedule):
        with pytest.raises(ClientError) as excinfo:
            call(MonitoringScheduleName="nope")
        assert _error(excinfo)[0] == "ResourceNotFound"


def test_delete_removes_the_schedule_but_not_its_execution_history(sagemaker: Any, region: str) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())
    monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")

    sagemaker.delete_monitoring_schedule(MonitoringScheduleName="s")

    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")
    assert _error(excinfo)[0] == "ResourceNotFound"
    assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    [execution] = sagemaker.list_monitoring_executions(MonitoringScheduleName="s")["MonitoringExecutionSummaries"]
    assert execution["MonitoringScheduleName"] == "s"


def test_schedules_are_listed_with_filters_and_pages(sagemaker: Any) -> None:
    create_definition(sagemaker, "ModelBias", "bias", endpoint="fraud")
    for index in range(4):
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName=f"dq-{index}", MonitoringScheduleConfig=inline_config(endpoint="churn")
        )
    sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="bias-0", MonitoringScheduleConfig=named_config("bias", "ModelBias")
    )
    sagemaker.stop_monitoring_schedule(MonitoringScheduleName="dq-1")

    def names(**params: Any) -> list[str]:
        return [
            s["MonitoringScheduleName"]
            for s in sagemaker.list_monitoring_schedules(**params)["MonitoringScheduleSummaries"]
        ]

    assert names(StatusEquals="Pending") == ["bias-0", "dq-3", "dq-2", "dq-0"]  # newest first
    assert names(StatusEquals="Pending") == []  # the list has shown them: now Scheduled
    assert names(StatusEquals="Scheduled") == ["bias-0", "dq-3", "dq-2", "dq-0"]
    assert names(StatusEquals="Stopped") == ["dq-1"]
    assert names(NameContains="dq-", SortOrder="Ascending") == ["dq-0", "dq-1", "dq-2", "dq-3"]
    assert names(MonitoringTypeEquals="ModelBias") == ["bias-0"]
    assert names(EndpointName="fraud") == ["bias-0"]
    assert names(MonitoringJobDefinitionName="bias") == ["bias-0"]
    assert names(CreationTimeAfter=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert names(CreationTimeAfter=datetime.now(UTC) - timedelta(minutes=5)) == names()
    first = sagemaker.list_monitoring_schedules(MaxResults=2)
    second = sagemaker.list_monitoring_schedules(MaxResults=2, NextToken=first["NextToken"])
    third = sagemaker.list_monitoring_schedules(MaxResults=2, NextToken=second["NextToken"])
    assert "NextToken" not in third
    paged = [
        s["MonitoringScheduleName"] for page in (first, second, third) for s in page["MonitoringScheduleSummaries"]
    ]
    assert paged == names()
    [bias] = sagemaker.list_monitoring_schedules(NameContains="bias")["MonitoringScheduleSummaries"]
    assert bias["MonitoringJobDefinitionName"] == "bias"
    assert bias["MonitoringType"] == "ModelBias"
    assert bias["MonitoringScheduleArn"].endswith(":monitoring-schedule/bias-0")
    with pytest.raises(ClientError) as excinfo:
        sagemaker.list_monitoring_schedules(MaxResults=101)
    assert _error(excinfo)[0] == "ValidationException"


def test_a_schedule_is_tagged_on_its_arn_under_the_tag_rules(sagemaker: Any) -> None:
    arn = sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config(), Tags=[{"Key": "team", "Value": "ml"}]
    )["MonitoringScheduleArn"]

    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "risk"}])

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "risk"}]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == []
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName="t", MonitoringScheduleConfig=inline_config(), Tags=[{"Key": "aws:x", "Value": "1"}]
        )
    _refused_by(excinfo, "tags-reserved-aws-prefix", key="aws:x")


# --- executions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["named", "inline"])
def test_an_execution_runs_a_processing_job_that_names_its_schedule(sagemaker: Any, region: str, style: str) -> None:
    if style == "named":
        create_definition(sagemaker, "ModelExplainability", "explain")
        config = named_config("explain", "ModelExplainability")
    else:
        config = inline_config()
    arn = sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=config)[
        "MonitoringScheduleArn"
    ]

    name = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")

    job = sagemaker.describe_processing_job(ProcessingJobName=name)
    assert re.fullmatch(r"model-monitoring-\d{12}-[0-9a-f]{8}", name)
    assert job["MonitoringScheduleArn"] == arn
    assert job["ProcessingJobStatus"] == "InProgress"
    assert job["NetworkConfig"] == NETWORK
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert job["RoleArn"] == ROLE_ARN
    assert job["AppSpecification"]["ImageUri"] == IMAGE
    summary = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["LastMonitoringExecutionSummary"]
    assert summary["MonitoringExecutionStatus"] == "InProgress"
    assert summary["ProcessingJobArn"] == job["ProcessingJobArn"]
    assert summary["MonitoringScheduleName"] == "s"
    assert summary["EndpointName"] == "churn"
    if style == "named":
        assert summary["MonitoringJobDefinitionName"] == "explain"
        assert summary["MonitoringType"] == "ModelExplainability"
        assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    else:
        assert "MonitoringJobDefinitionName" not in summary
        assert summary["MonitoringType"] == "DataQuality"
        assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


def test_an_execution_is_completed_by_the_helper_and_listed(sagemaker: Any, region: str) -> None:
    create_definition(sagemaker, "DataQuality", "dq")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("dq"))
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="other", MonitoringScheduleConfig=inline_config())
    first = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s", processing_job_name="run-1")
    monitoring_extension.start_monitoring_execution(ACCOUNT, region, "other", processing_job_name="run-other")

    with pytest.raises(ValueError, match="still InProgress"):
        monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")
    monitoring_extension.complete_monitoring_execution(ACCOUNT, region, "s", "CompletedWithViolations")
    second = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s", processing_job_name="run-2")

    assert first == "run-1" and second == "run-2"
    assert sagemaker.describe_processing_job(ProcessingJobName="run-1")["ProcessingJobStatus"] == "Completed"
    executions = sagemaker.list_monitoring_executions(MonitoringScheduleName="s")["MonitoringExecutionSummaries"]
    assert [e["ProcessingJobArn"].rsplit("/", 1)[1] for e in executions] == ["run-2", "run-1"]
    assert [e["MonitoringExecutionStatus"] for e in executions] == ["InProgress", "CompletedWithViolations"]
    for execution in executions:
        assert execution["MonitoringScheduleName"] == "s"
        assert execution["MonitoringJobDefinitionName"] == "dq"
        assert execution["MonitoringType"] == "DataQuality"
        assert _aware(execution["LastModifiedTime"]) >= _aware(execution["CreationTime"])
        assert isinstance(execution["ScheduledTime"], datetime)
    violated = sagemaker.list_monitoring_executions(StatusEquals="CompletedWithViolations")
    assert [e["ProcessingJobArn"].rsplit("/", 1)[1] for e in violated["MonitoringExecutionSummaries"]] == ["run-1"]
    everything = sagemaker.list_monitoring_executions(SortOrder="Ascending")["MonitoringExecutionSummaries"]
    assert [e["ProcessingJobArn"].rsplit("/", 1)[1] for e in everything] == ["run-1", "run-other", "run-2"]
    summary = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["LastMonitoringExecutionSummary"]
    assert summary["ProcessingJobArn"].endswith("/run-2")
    assert monitoring_extension.monitoring_executions(ACCOUNT, region, "other")[0]["MonitoringExecutionStatus"] == (
        "InProgress"
    )


def test_a_failed_execution_carries_its_reason(sagemaker: Any, region: str) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())
    name = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")

    monitoring_extension.complete_monitoring_execution(
        ACCOUNT, region, "s", "Failed", failure_reason="Job inputs had no data"
    )

    summary = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["LastMonitoringExecutionSummary"]
    assert (summary["MonitoringExecutionStatus"], summary["FailureReason"]) == ("Failed", "Job inputs had no data")
    assert sagemaker.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Failed"
    with pytest.raises(ValueError, match="no running execution"):
        monitoring_extension.complete_monitoring_execution(ACCOUNT, region, "s")
    with pytest.raises(ValueError, match="not a final status"):
        monitoring_extension.complete_monitoring_execution(ACCOUNT, region, "s", "InProgress")


def test_stopping_the_processing_job_stops_the_execution(sagemaker: Any, region: str) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())
    name = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")

    sagemaker.stop_processing_job(ProcessingJobName=name)
    sagemaker.describe_processing_job(ProcessingJobName=name)  # a Stopping job is seen once, then Stopped

    [execution] = sagemaker.list_monitoring_executions()["MonitoringExecutionSummaries"]
    assert execution["MonitoringExecutionStatus"] in ("Stopping", "Stopped")
    sagemaker.describe_processing_job(ProcessingJobName=name)
    assert sagemaker.list_monitoring_executions(StatusEquals="Stopped")["MonitoringExecutionSummaries"] != []


def test_no_execution_starts_from_a_stopped_schedule_or_a_deleted_definition(sagemaker: Any, region: str) -> None:
    create_definition(sagemaker, "DataQuality", "dq")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("dq"))
    sagemaker.stop_monitoring_schedule(MonitoringScheduleName="s")

    with pytest.raises(ValueError, match="stopped"):
        monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")
    sagemaker.start_monitoring_schedule(MonitoringScheduleName="s")
    sagemaker.delete_data_quality_job_definition(JobDefinitionName="dq")
    with pytest.raises(ValueError, match="no longer exists"):
        monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []


def test_an_execution_of_a_pending_schedule_schedules_it_first(sagemaker: Any, region: str) -> None:
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())

    monitoring_extension.start_monitoring_execution(ACCOUNT, region, "s")

    assert sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"] == "Scheduled"


# --- CloudTrail -----------------------------------------------------------------------------------


def test_the_monitoring_creates_and_the_update_are_emitted_operations() -> None:
    for operation in (
        "CreateMonitoringSchedule",
        "UpdateMonitoringSchedule",
        *(f"Create{kind}JobDefinition" for kind in KINDS),
    ):
        assert ("sagemaker", operation) in cloudtrail.EMITTED_OPERATIONS


def test_schedule_create_and_update_reach_eventbridge_in_cloudtrail_shape(
    sagemaker: Any, event_tap: Any, account: str, region: str
) -> None:
    received = event_tap(
        {"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateMonitoringSchedule", "UpdateMonitoringSchedule"]}}
    )
    arn = sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="evented",
        MonitoringScheduleConfig=inline_config(),
        Tags=[{"Key": "team", "Value": "ml"}],
    )["MonitoringScheduleArn"]
    sagemaker.update_monitoring_schedule(
        MonitoringScheduleName="evented",
        MonitoringScheduleConfig=inline_config(NetworkConfig={"EnableInterContainerTrafficEncryption": True}),
    )

    create, update = received()
    for event, name in ((create, "CreateMonitoringSchedule"), (update, "UpdateMonitoringSchedule")):
        assert (event["source"], event["detail-type"]) == ("aws.sagemaker", "AWS API Call via CloudTrail")
        assert (event["account"], event["region"]) == (account, region)
        assert event["detail"]["eventName"] == name
        assert event["detail"]["responseElements"] == {"monitoringScheduleArn": arn}
        assert event["detail"]["requestParameters"]["monitoringScheduleName"] == "evented"
        assert "errorCode" not in event["detail"]
    created = create["detail"]["requestParameters"]
    definition = created["monitoringScheduleConfig"]["monitoringJobDefinition"]
    assert definition["networkConfig"]["enableInterContainerTrafficEncryption"] is False
    assert definition["networkConfig"]["vpcConfig"]["securityGroupIds"] == ["sg-0123"]
    assert definition["monitoringResources"]["clusterConfig"]["instanceCount"] == 2
    assert definition["roleArn"] == ROLE_ARN
    assert created["monitoringScheduleConfig"]["scheduleConfig"] == {"scheduleExpression": "cron(0 * ? * * *)"}
    assert created["tags"] == [{"key": "team", "value": "ml"}]
    updated = update["detail"]["requestParameters"]["monitoringScheduleConfig"]["monitoringJobDefinition"]
    assert updated["networkConfig"] == {"enableInterContainerTrafficEncryption": True}


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_definition_create_reaches_eventbridge_in_cloudtrail_shape(
    sagemaker: Any, event_tap: Any, kind: str
) -> None:
    received = event_tap({"source": ["aws.sagemaker"], "detail": {"eventName": [f"Create{kind}JobDefinition"]}})

    arn = create_definition(sagemaker, kind, "evented")

    [event] = received()
    detail = event["detail"]
    assert detail["responseElements"] == {"jobDefinitionArn": arn}
    parameters = detail["requestParameters"]
    assert parameters["jobDefinitionName"] == "evented"
    assert parameters["networkConfig"]["enableInterContainerTrafficEncryption"] is False
    assert parameters["networkConfig"]["vpcConfig"]["subnets"] == ["subnet-a", "subnet-b"]
    assert parameters["jobResources"]["clusterConfig"]["instanceCount"] == 2
    assert parameters["roleArn"] == ROLE_ARN
    job_input = parameters[kind[:1].lower() + kind[1:] + "JobInput"]
    assert job_input["endpointInput"]["endpointName"] == "churn"


def test_a_refused_schedule_create_is_delivered_with_its_error_code(sagemaker: Any, event_tap: Any) -> None:
    received = event_tap({"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateMonitoringSchedule"]}})

    with pytest.raises(ClientError):
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("nope"))

    [event] = received()
    assert event["detail"]["errorCode"] == "ValidationException"
    assert event["detail"]["responseElements"] is None
    assert event["detail"]["requestParameters"]["monitoringScheduleConfig"]["monitoringJobDefinitionName"] == "nope"


# --- service rules --------------------------------------------------------------------------------


def test_the_monitoring_rule_limits_match_the_botocore_model(sagemaker_model: Any) -> None:
    for shape_name in ("MonitoringScheduleName", "MonitoringJobDefinitionName"):
        shape = sagemaker_model.shape_for(shape_name)
        assert shape.metadata["max"] == service_rules.MAX_MONITORING_NAME_LENGTH
        assert shape.metadata["pattern"] == service_rules.MONITORING_NAME_PATTERN
    assert tuple(sagemaker_model.shape_for("MonitoringType").enum) == service_rules.MONITORING_TYPES


def test_a_schedule_name_over_63_characters_or_outside_the_pattern_is_refused(sagemaker: Any) -> None:
    name = "s" * 64
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig=inline_config())
    message = _refused_by(
        excinfo,
        "monitoring-schedule-name-max-63",
        value=name,
        at="monitoringScheduleName",
        constraint="Member must have length less than or equal to 63",
    )
    assert message.endswith("less than or equal to 63")

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName="my_schedule", MonitoringScheduleConfig=inline_config()
        )
    _refused_by(
        excinfo,
        "monitoring-schedule-name-max-63",
        value="my_schedule",
        at="monitoringScheduleName",
        constraint=f"Member must satisfy regular expression pattern: {service_rules.MONITORING_NAME_PATTERN}",
    )
    assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s" * 63, MonitoringScheduleConfig=inline_config())


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_definition_name_over_63_characters_or_outside_the_pattern_is_refused(sagemaker: Any, kind: str) -> None:
    for name, constraint in (
        ("d" * 64, "Member must have length less than or equal to 63"),
        ("-leading-hyphen", f"Member must satisfy regular expression pattern: {service_rules.MONITORING_NAME_PATTERN}"),
    ):
        with pytest.raises(ClientError) as excinfo:
            create_definition(sagemaker, kind, name)
        _refused_by(
            excinfo, "monitoring-job-definition-name-max-63", value=name, at="jobDefinitionName", constraint=constraint
        )
    listed = getattr(sagemaker, f"list_{SNAKE[kind]}_job_definitions")()["JobDefinitionSummaries"]
    assert listed == []
    create_definition(sagemaker, kind, "d" * 63)


@pytest.mark.parametrize("operation", ["CreateMonitoringSchedule", "UpdateMonitoringSchedule"])
def test_a_schedule_config_needs_exactly_one_definition(sagemaker: Any, operation: str) -> None:
    create_definition(sagemaker, "DataQuality", "dq")
    if operation == "UpdateMonitoringSchedule":
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=inline_config())
    call = (
        sagemaker.create_monitoring_schedule if operation.startswith("Create") else sagemaker.update_monitoring_schedule
    )
    both = {**named_config("dq"), "MonitoringJobDefinition": inline_definition()}
    neither = {"ScheduleConfig": dict(HOURLY), "MonitoringType": "DataQuality"}

    for config in (both, neither):
        with pytest.raises(ClientError) as excinfo:
            call(MonitoringScheduleName="s", MonitoringScheduleConfig=config)
        _refused_by(excinfo, "monitoring-schedule-one-definition", operation=operation)


@pytest.mark.parametrize("operation", ["CreateMonitoringSchedule", "UpdateMonitoringSchedule"])
def test_a_schedule_refuses_a_definition_that_does_not_exist_with_its_type(sagemaker: Any, operation: str) -> None:
    create_definition(sagemaker, "DataQuality", "dq")
    if operation == "UpdateMonitoringSchedule":
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=named_config("dq"))
    call = (
        sagemaker.create_monitoring_schedule if operation.startswith("Create") else sagemaker.update_monitoring_schedule
    )
    untyped = {"ScheduleConfig": dict(HOURLY), "MonitoringJobDefinitionName": "dq"}

    for config, name, monitoring_type in (
        (named_config("nope", "DataQuality"), "nope", "DataQuality"),
        (named_config("dq", "ModelBias"), "dq", "ModelBias"),  # exists, as another type
        (untyped, "dq", "null"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(MonitoringScheduleName="s", MonitoringScheduleConfig=config)
        _refused_by(excinfo, "monitoring-schedule-definition-exists", name=name, type=monitoring_type)

    if operation == "UpdateMonitoringSchedule":  # the refused update changed nothing
        kept = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleConfig"]
        assert kept == named_config("dq")
    else:
        assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []


# --- server mode ----------------------------------------------------------------------------------


@pytest.fixture
def served_sagemaker(region: str) -> Iterator[Any]:
    """A SageMaker client of the embedded AWS run as a threaded HTTP server (as `make sandbox`)."""
    sagemaker_extension.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield boto3.client(
            "sagemaker",
            region_name=region,
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        # The server shares this process's moto state with mock_aws(): leave none behind.
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()


def test_over_http_a_schedule_runs_an_execution_that_names_it(served_sagemaker: Any, region: str) -> None:
    sagemaker = served_sagemaker
    create_definition(sagemaker, "ModelBias", "bias")
    arn = sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="served", MonitoringScheduleConfig=named_config("bias", "ModelBias")
    )["MonitoringScheduleArn"]

    name = monitoring_extension.start_monitoring_execution(ACCOUNT, region, "served")

    job = sagemaker.describe_processing_job(ProcessingJobName=name)
    assert job["MonitoringScheduleArn"] == arn
    assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False
    schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="served")
    assert schedule["LastMonitoringExecutionSummary"]["ProcessingJobArn"] == job["ProcessingJobArn"]
    assert describe_definition(sagemaker, "ModelBias", "bias")["JobResources"] == CLUSTER
