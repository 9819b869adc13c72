"""The SageMaker extension behaves like SageMaker where the guard depends on it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.responses import BaseResponse
from moto.sagemaker.responses import SageMakerResponse

from sandbox import sagemaker_extension
from sandbox.sagemaker_extension import (
    BUILT_IN_ALGORITHM_METRICS,
    builtin_algorithm,
    complete_training_job,
)

pytestmark = pytest.mark.sandbox

NOT_FOUND = "Requested resource not found."


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _status(sagemaker: Any, name: str) -> str:
    return sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]


def test_install_is_idempotent(aws: None) -> None:
    sagemaker_extension.install()
    methods = {
        name: getattr(SageMakerResponse, name)
        for name in ("create_training_job", "stop_training_job")
    }
    call_action = BaseResponse.call_action

    sagemaker_extension.install()

    assert {name: getattr(SageMakerResponse, name) for name in methods} == methods
    assert BaseResponse.call_action is call_action
    assert not getattr(call_action.__wrapped__, "_emits_cloudtrail", False)


def test_a_new_job_is_running(sagemaker: Any, job_request: Any) -> None:
    sagemaker.create_training_job(**job_request("running"))

    job = sagemaker.describe_training_job(TrainingJobName="running")

    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("InProgress", "Training")
    assert "TrainingEndTime" not in job
    assert job["TrainingJobArn"].endswith(":training-job/running")
    assert job["ModelArtifacts"]["S3ModelArtifacts"].startswith("s3://bucket/output/running/")
    listed = sagemaker.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
    assert [summary["TrainingJobName"] for summary in listed] == ["running"]


def test_describe_returns_the_fields_the_guard_never_sets_exactly(
    sagemaker: Any, job_request: Any
) -> None:
    extra = {
        "HyperParameters": {"Learning-Rate": "0.1", "epochs": "3", "sagemaker_program": "t.py"},
        "Environment": {"MY_VAR": "1", "lower.case-key": "x"},
        "RetryStrategy": {"MaximumRetryAttempts": 3},
        "CheckpointConfig": {"S3Uri": "s3://bucket/ckpt", "LocalPath": "/opt/ml/checkpoints"},
        "InfraCheckConfig": {"EnableInfraCheck": True},
        "VpcConfig": {"SecurityGroupIds": ["sg-1", "sg-2"], "Subnets": ["subnet-1"]},
        "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": True,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    }
    sagemaker.create_training_job(**job_request("kept", **extra))

    job = sagemaker.describe_training_job(TrainingJobName="kept")

    assert {key: job[key] for key in extra} == extra


def test_describe_returns_every_member_of_the_model_that_create_sent(
    sagemaker: Any, full_job_request: Any, sagemaker_model: Any
) -> None:
    request = full_job_request("everything")
    sagemaker.create_training_job(**request)

    job = sagemaker.describe_training_job(TrainingJobName="everything")

    echoed = sagemaker_model.operation_model("DescribeTrainingJob").output_shape.members
    assert {key: job.get(key) for key in request if key in echoed} == {
        key: value for key, value in request.items() if key in echoed
    }
    # DescribeTrainingJob's output shape has no Tags (ListTags has them) nor SessionChainingConfig.
    assert "Tags" not in job and "SessionChainingConfig" not in job


def test_describe_reports_flags_the_request_left_out_as_false(
    sagemaker: Any, job_request: Any
) -> None:
    sagemaker.create_training_job(**job_request("defaults"))

    job = sagemaker.describe_training_job(TrainingJobName="defaults")

    assert job["EnableInterContainerTrafficEncryption"] is False
    assert job["EnableNetworkIsolation"] is False
    assert job["EnableManagedSpotTraining"] is False
    assert "Environment" not in job and "HyperParameters" not in job


def test_describe_of_an_unknown_job_is_not_found(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_training_job(TrainingJobName="nobody")

    assert _error(excinfo) == ("ValidationException", NOT_FOUND)


def test_names_are_looked_up_regardless_of_case(sagemaker: Any, job_request: Any) -> None:
    sagemaker.create_training_job(**job_request("Mixed-Case-Job"))

    job = sagemaker.describe_training_job(TrainingJobName="mixed-case-JOB")
    sagemaker.stop_training_job(TrainingJobName="MIXED-CASE-JOB")

    assert job["TrainingJobName"] == "Mixed-Case-Job"
    assert _status(sagemaker, "Mixed-Case-Job") == "Stopping"


@pytest.mark.parametrize("second_name", ["taken", "TAKEN"])
def test_a_second_job_with_the_same_name_is_refused(
    sagemaker: Any, job_request: Any, second_name: str
) -> None:
    sagemaker.create_training_job(**job_request("taken", HyperParameters={"first": "1"}))
    sagemaker.stop_training_job(TrainingJobName="taken")

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**job_request(second_name, HyperParameters={"second": "2"}))

    assert _error(excinfo)[0] == "ResourceInUse"
    job = sagemaker.describe_training_job(TrainingJobName="taken")
    assert (job["HyperParameters"], job["TrainingJobStatus"]) == ({"first": "1"}, "Stopping")


def test_stop_is_seen_as_stopping_once_then_stopped(sagemaker: Any, job_request: Any) -> None:
    sagemaker.create_training_job(**job_request("stop-me"))

    sagemaker.stop_training_job(TrainingJobName="stop-me")
    listed = sagemaker.list_training_jobs(StatusEquals="Stopping")["TrainingJobSummaries"]
    first = sagemaker.describe_training_job(TrainingJobName="stop-me")
    second = sagemaker.describe_training_job(TrainingJobName="stop-me")

    assert [summary["TrainingJobName"] for summary in listed] == ["stop-me"]
    assert (first["TrainingJobStatus"], first["SecondaryStatus"]) == ("Stopping", "Stopping")
    assert "TrainingEndTime" not in first
    assert (second["TrainingJobStatus"], second["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert second["TrainingEndTime"] >= second["TrainingStartTime"]
    transitions = [t["Status"] for t in second["SecondaryStatusTransitions"]]
    assert transitions == ["Starting", "Training", "Stopping", "Stopped"]


@pytest.mark.parametrize("describes_after_stop", [0, 1, 2])
def test_stopping_a_job_that_is_not_running_is_refused(
    sagemaker: Any, job_request: Any, describes_after_stop: int
) -> None:
    sagemaker.create_training_job(**job_request("once"))
    sagemaker.stop_training_job(TrainingJobName="once")
    for _ in range(describes_after_stop):
        sagemaker.describe_training_job(TrainingJobName="once")
    status = "Stopping" if describes_after_stop == 0 else "Stopped"

    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_training_job(TrainingJobName="once")

    assert _error(excinfo) == (
        "ValidationException",
        f"The request was rejected because the training job is in status {status}.",
    )


def test_stopping_an_unknown_job_is_not_found(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_training_job(TrainingJobName="nobody")

    assert _error(excinfo) == ("ValidationException", NOT_FOUND)


def test_a_job_that_completes_by_itself_can_no_longer_be_stopped(
    sagemaker: Any, job_request: Any, account: str, region: str
) -> None:
    sagemaker.create_training_job(**job_request("racer"))
    assert _status(sagemaker, "racer") == "InProgress"

    complete_training_job(account, region, "RACER")

    job = sagemaker.describe_training_job(TrainingJobName="racer")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Completed", "Completed")
    assert "TrainingEndTime" in job
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_training_job(TrainingJobName="racer")
    assert _error(excinfo)[1].endswith("is in status Completed.")


def test_a_job_can_fail_by_itself(
    sagemaker: Any, job_request: Any, account: str, region: str
) -> None:
    sagemaker.create_training_job(**job_request("doomed"))

    complete_training_job(account, region, "doomed", "Failed", failure_reason="ClientError: boom")

    job = sagemaker.describe_training_job(TrainingJobName="doomed")
    assert (job["TrainingJobStatus"], job["FailureReason"]) == ("Failed", "ClientError: boom")


def test_the_completion_hook_refuses_what_cannot_happen(
    sagemaker: Any, job_request: Any, account: str, region: str
) -> None:
    sagemaker.create_training_job(**job_request("done"))
    with pytest.raises(ValueError, match="not a final status"):
        complete_training_job(account, region, "done", "Stopping")
    complete_training_job(account, region, "done")

    with pytest.raises(ValueError, match="already ended"):
        complete_training_job(account, region, "done", "Stopped")
    with pytest.raises(Exception, match=NOT_FOUND):
        complete_training_job(account, region, "nobody")


@pytest.mark.parametrize(
    ("image", "algorithm"),
    [
        ("685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1", "xgboost"),
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:latest", "kmeans"),
        (
            "404615174143.dkr.ecr.us-east-2.amazonaws.com/linear-learner@sha256:0abc",
            "linear-learner",
        ),
        ("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/blazingtext:1", "blazingtext"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-xgboost:1", None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/xgboost:1", None),
        ("xgboost:1", None),
        ("docker.io/library/xgboost:1", None),
        ("", None),
    ],
)
def test_builtin_algorithms_are_recognised_by_their_repository(
    image: str, algorithm: str | None
) -> None:
    assert builtin_algorithm(image) == algorithm


def test_builtin_algorithm_jobs_get_the_algorithms_metric_definitions(
    sagemaker: Any, job_request: Any, images: dict[str, str]
) -> None:
    spec = {"TrainingImage": images["xgboost"], "TrainingInputMode": "File"}
    sagemaker.create_training_job(**job_request("builtin", AlgorithmSpecification=spec))

    job = sagemaker.describe_training_job(TrainingJobName="builtin")

    assert job["AlgorithmSpecification"]["MetricDefinitions"] == list(
        BUILT_IN_ALGORITHM_METRICS["xgboost"]
    )


def test_builtin_algorithm_metric_definitions_cannot_be_overridden(
    sagemaker: Any, job_request: Any, images: dict[str, str]
) -> None:
    spec = {
        "TrainingImage": images["xgboost"],
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "rmse=(\\S+)"}],
    }

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**job_request("override", AlgorithmSpecification=spec))

    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert message.startswith("You can't override the metric definitions for Amazon SageMaker")


@pytest.mark.parametrize("metric_definitions", [None, [{"Name": "loss", "Regex": "loss=(\\S+)"}]])
def test_custom_images_get_exactly_the_metric_definitions_they_sent(
    sagemaker: Any, job_request: Any, images: dict[str, str], metric_definitions: Any
) -> None:
    spec: dict[str, Any] = {"TrainingImage": images["custom"], "TrainingInputMode": "File"}
    if metric_definitions is not None:
        spec["MetricDefinitions"] = metric_definitions
    sagemaker.create_training_job(**job_request("custom", AlgorithmSpecification=spec))

    job = sagemaker.describe_training_job(TrainingJobName="custom")

    assert job["AlgorithmSpecification"] == spec


def test_tags_given_at_create_are_listed_and_add_tags_overwrites_a_key(
    sagemaker: Any, job_request: Any
) -> None:
    tags = [{"Key": "team", "Value": "ml"}, {"Key": "ict-guard:exempt", "Value": "false"}]
    arn = sagemaker.create_training_job(**job_request("tagged", Tags=tags))["TrainingJobArn"]

    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == tags

    sagemaker.add_tags(
        ResourceArn=arn,
        Tags=[{"Key": "ict-guard:exempt", "Value": "true"}, {"Key": "new", "Value": "1"}],
    )
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "ict-guard:exempt", "Value": "true"},
        {"Key": "new", "Value": "1"},
    ]
