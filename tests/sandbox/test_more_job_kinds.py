"""Processing jobs and AutoML jobs (V1 and V2) in the embedded SageMaker behave like SageMaker
where the guard depends on them (sandbox/sagemaker_extension.py): Describe returns what Create
carried, the stop lifecycle, listing, tags, parents and children, CloudTrail events."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto.sagemaker.exceptions import ResourceNotFound

from sandbox import cloudtrail, service_rules, shapes
from sandbox.sagemaker_extension import (
    AutoMLChildren,
    attach_processing_job,
    attach_to_automl_job,
    complete_automl_job,
    complete_processing_job,
    start_automl_children,
)

pytestmark = pytest.mark.sandbox

# Members of a Describe response that the service fills in, not the request.
_PROCESSING_STATE = {
    "ProcessingJobArn",
    "ProcessingJobStatus",
    "CreationTime",
    "LastModifiedTime",
    "ProcessingStartTime",
    "ProcessingEndTime",
    "FailureReason",
    "ExitMessage",
}
_AUTOML_STATE = {
    "AutoMLJobArn",
    "AutoMLJobStatus",
    "AutoMLJobSecondaryStatus",
    "CreationTime",
    "LastModifiedTime",
    "EndTime",
    "FailureReason",
}


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _without_tags(request: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in request.items() if key != "Tags"}


def _answer(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata", None)
    return response


def _processing(sagemaker: Any, name: str) -> dict[str, Any]:
    return _answer(sagemaker.describe_processing_job(ProcessingJobName=name))


def _automl(sagemaker: Any, name: str) -> dict[str, Any]:
    return _answer(sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name))


# --- processing jobs: create and describe ---------------------------------------------------------


def test_a_new_processing_job_is_running(sagemaker: Any, processing_request: Any, account: str) -> None:
    arn = sagemaker.create_processing_job(**processing_request("prep"))["ProcessingJobArn"]

    job = _processing(sagemaker, "prep")

    assert arn == f"arn:aws:sagemaker:eu-west-1:{account}:processing-job/prep"
    assert (job["ProcessingJobArn"], job["ProcessingJobStatus"]) == (arn, "InProgress")
    assert job["ProcessingStartTime"] == job["CreationTime"]
    assert not {"ProcessingEndTime", "FailureReason", "ExitMessage"} & set(job)
    for parent in ("MonitoringScheduleArn", "AutoMLJobArn", "TrainingJobArn"):
        assert parent not in job


def test_describe_processing_job_returns_everything_the_create_carried(
    sagemaker: Any, processing_request: Any
) -> None:
    request = processing_request("carried", Tags=[{"Key": "team", "Value": "ml"}])
    sagemaker.create_processing_job(**request)

    job = _processing(sagemaker, "carried")

    # moto alone drops ProcessingResources and Environment; the guard copies both.
    assert {k: v for k, v in job.items() if k not in _PROCESSING_STATE} == _without_tags(request)
    assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert job["NetworkConfig"]["VpcConfig"] == request["NetworkConfig"]["VpcConfig"]
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2


def test_a_processing_job_created_without_network_config_is_described_without_it(
    sagemaker: Any, processing_request: Any
) -> None:
    request = processing_request("plain")
    del request["NetworkConfig"]
    sagemaker.create_processing_job(**request)

    job = _processing(sagemaker, "plain")

    assert "NetworkConfig" not in job  # the guard reads an absent flag as off


def test_describe_processing_job_returns_every_member_of_the_model_that_create_sent(
    sagemaker: Any, sagemaker_model: Any
) -> None:
    shape = sagemaker_model.operation_model("CreateProcessingJob").input_shape
    request = {**shapes.example_value(shape), "ProcessingJobName": "everything"}
    cluster = request["ProcessingResources"]["ClusterConfig"]
    for path in service_rules.read_only_members("CreateProcessingJob"):
        cluster.pop(path.rsplit(".", 1)[1], None)
    sagemaker.create_processing_job(**request)

    job = _processing(sagemaker, "everything")

    for member, value in _without_tags(request).items():
        if member == "ProcessingResources":
            # InstancePreferences: SageMaker reports its choice (the first preference).
            described = copy.deepcopy(job[member])
            chosen = described["ClusterConfig"]
            assert chosen.pop("SelectedInstanceType") == cluster["InstancePreferences"][0]["InstanceType"]
            chosen.pop("SelectedInstanceCount", None)
            assert described == value
        else:
            assert job[member] == value, member


def test_a_processing_job_with_instance_preferences_is_described_with_the_selected_instance(
    sagemaker: Any, processing_request: Any
) -> None:
    cluster = {
        "InstancePreferences": [{"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}],
        "VolumeSizeInGB": 30,
    }
    sagemaker.create_processing_job(**processing_request("pick", ProcessingResources={"ClusterConfig": cluster}))

    described = _processing(sagemaker, "pick")["ProcessingResources"]["ClusterConfig"]

    assert (described["SelectedInstanceType"], described["SelectedInstanceCount"]) == ("ml.g5.xlarge", 2)


@pytest.mark.parametrize("call", ["describe_processing_job", "stop_processing_job"])
def test_an_unknown_processing_job_is_not_found(sagemaker: Any, call: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(sagemaker, call)(ProcessingJobName="nobody")

    assert _error(excinfo) == ("ValidationException", "Could not find requested job with name nobody")


def test_a_second_processing_job_with_the_same_name_is_refused_regardless_of_case(
    sagemaker: Any, processing_request: Any
) -> None:
    arn = sagemaker.create_processing_job(**processing_request("Twice"))["ProcessingJobArn"]

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_processing_job(**processing_request("twice", Environment={"OTHER": "1"}))

    code, message = _error(excinfo)
    assert code == "ResourceInUse" and arn in message
    assert _processing(sagemaker, "TWICE")["Environment"] == {"STAGE": "prep"}


@pytest.mark.parametrize(
    ("operation", "member", "path"),
    [
        ("CreateProcessingJob", "ProcessingResources", "processingResources"),
        ("CreateAutoMLJob", "InputDataConfig", "inputDataConfig"),
        ("CreateAutoMLJobV2", "AutoMLProblemTypeConfig", "autoMLProblemTypeConfig"),
    ],
)
def test_the_new_creates_require_the_models_required_members(
    aws: None,
    region: str,
    processing_request: Any,
    automl_request: Any,
    automl_v2_request: Any,
    operation: str,
    member: str,
    path: str,
) -> None:
    # A client that skips botocore's own validation, as a hand-made HTTP request would.
    unvalidated = boto3.client(
        "sagemaker",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False),
    )
    create, build = {
        "CreateProcessingJob": (unvalidated.create_processing_job, processing_request),
        "CreateAutoMLJob": (unvalidated.create_auto_ml_job, automl_request),
        "CreateAutoMLJobV2": (unvalidated.create_auto_ml_job_v2, automl_v2_request),
    }[operation]
    request = build("bare")
    del request[member]

    with pytest.raises(ClientError) as excinfo:
        create(**request)

    assert _error(excinfo) == (
        "ValidationException",
        f"1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null",
    )


# --- processing jobs: lifecycle ---------------------------------------------------------------------


def test_a_stopped_processing_job_is_seen_stopping_once_then_stopped(
    sagemaker: Any, processing_request: Any
) -> None:
    sagemaker.create_processing_job(**processing_request("halt"))

    sagemaker.stop_processing_job(ProcessingJobName="halt")
    listed = sagemaker.list_processing_jobs(StatusEquals="Stopping")["ProcessingJobSummaries"]
    first, second = _processing(sagemaker, "halt"), _processing(sagemaker, "halt")

    assert [summary["ProcessingJobName"] for summary in listed] == ["halt"]
    assert first["ProcessingJobStatus"] == "Stopping" and "ProcessingEndTime" not in first
    assert second["ProcessingJobStatus"] == "Stopped"
    assert second["ProcessingEndTime"] >= second["ProcessingStartTime"]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_processing_job(ProcessingJobName="halt")
    assert _error(excinfo) == (
        "ValidationException",
        "The request was rejected because the processing job is in status Stopped.",
    )


def test_a_processing_job_completes_or_fails_by_itself(
    sagemaker: Any, processing_request: Any, account: str, region: str
) -> None:
    sagemaker.create_processing_job(**processing_request("done"))
    sagemaker.create_processing_job(**processing_request("broken"))

    complete_processing_job(account, region, "DONE")
    complete_processing_job(account, region, "broken", "Failed", exit_message="exit code 1")

    done, broken = _processing(sagemaker, "done"), _processing(sagemaker, "broken")
    assert done["ProcessingJobStatus"] == "Completed" and "ProcessingEndTime" in done
    assert (broken["ProcessingJobStatus"], broken["ExitMessage"]) == ("Failed", "exit code 1")
    assert broken["FailureReason"].startswith("AlgorithmError")
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_processing_job(ProcessingJobName="done")
    assert _error(excinfo)[1].endswith("is in status Completed.")
    with pytest.raises(ValueError, match="already ended"):
        complete_processing_job(account, region, "done")
    [summary] = sagemaker.list_processing_jobs(StatusEquals="Failed")["ProcessingJobSummaries"]
    assert (summary["ProcessingJobName"], summary["ExitMessage"]) == ("broken", "exit code 1")
    assert "ProcessingEndTime" in summary and summary["FailureReason"] == broken["FailureReason"]


def test_list_processing_jobs_filters_before_it_pages(
    sagemaker: Any, processing_request: Any, account: str, region: str
) -> None:
    for index in range(5):
        sagemaker.create_processing_job(**processing_request(f"etl-{index}"))
    sagemaker.create_processing_job(**processing_request("report-0"))
    complete_processing_job(account, region, "etl-0")

    names: list[str] = []
    kwargs: dict[str, Any] = {"StatusEquals": "InProgress", "NameContains": "etl", "MaxResults": 2}
    pages = 0
    while True:
        page = sagemaker.list_processing_jobs(**kwargs)
        pages += 1
        names += [summary["ProcessingJobName"] for summary in page["ProcessingJobSummaries"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]

    assert names == ["etl-1", "etl-2", "etl-3", "etl-4"] and pages == 2
    by_name = sagemaker.list_processing_jobs(SortBy="Name", SortOrder="Descending")["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in by_name] == ["report-0", "etl-4", "etl-3", "etl-2", "etl-1", "etl-0"]


def test_processing_job_tags_are_listed_and_add_tags_overwrites_a_key(
    sagemaker: Any, processing_request: Any
) -> None:
    arn = sagemaker.create_processing_job(**processing_request("tagged", Tags=[{"Key": "team", "Value": "ml"}]))[
        "ProcessingJobArn"
    ]

    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "data"}, {"Key": "ict", "Value": "on"}])

    tags = sagemaker.list_tags(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("ict", "on"), ("team", "data")]
    assert "Tags" not in _processing(sagemaker, "tagged")


# --- processing jobs: parents -----------------------------------------------------------------------


def test_a_processing_job_attached_to_a_monitoring_schedule_names_it(
    sagemaker: Any, processing_request: Any, account: str, region: str
) -> None:
    sagemaker.create_processing_job(**processing_request("monitor-run"))
    schedule = f"arn:aws:sagemaker:{region}:{account}:monitoring-schedule/nightly"

    attach_processing_job(account, region, "monitor-run", schedule)

    job = _processing(sagemaker, "monitor-run")
    assert job["MonitoringScheduleArn"] == schedule
    assert not {"AutoMLJobArn", "TrainingJobArn"} & set(job)


def test_a_processing_job_attached_to_a_training_job_names_it(
    sagemaker: Any, processing_request: Any, job_request: Any, account: str, region: str
) -> None:
    training_arn = sagemaker.create_training_job(**job_request("debugged"))["TrainingJobArn"]
    sagemaker.create_processing_job(**processing_request("rule-eval"))
    attach_processing_job(account, region, "rule-eval", f"arn:aws:sagemaker:{region}:{account}:monitoring-schedule/x")

    attach_processing_job(account, region, "rule-eval", training_arn)

    job = _processing(sagemaker, "rule-eval")
    assert job["TrainingJobArn"] == training_arn
    assert "MonitoringScheduleArn" not in job  # one parent launched it


def test_attaching_a_processing_job_to_what_cannot_launch_it_is_refused(
    sagemaker: Any, processing_request: Any, account: str, region: str
) -> None:
    sagemaker.create_processing_job(**processing_request("orphan"))

    with pytest.raises(ValueError, match="not the ARN"):
        attach_processing_job(account, region, "orphan", f"arn:aws:sagemaker:{region}:{account}:endpoint/e")
    with pytest.raises(ResourceNotFound):  # an AutoML parent must exist
        attach_processing_job(account, region, "orphan", f"arn:aws:sagemaker:{region}:{account}:automl-job/none")
    assert "AutoMLJobArn" not in _processing(sagemaker, "orphan")


# --- AutoML jobs: V1 ---------------------------------------------------------------------------------


def test_a_v1_automl_job_is_running_and_described_by_describe_auto_ml_job(
    sagemaker: Any, automl_request: Any, account: str
) -> None:
    request = automl_request("churn-v1", Tags=[{"Key": "team", "Value": "ml"}])
    arn = sagemaker.create_auto_ml_job(**request)["AutoMLJobArn"]

    job = _answer(sagemaker.describe_auto_ml_job(AutoMLJobName="churn-v1"))

    assert arn == f"arn:aws:sagemaker:eu-west-1:{account}:automl-job/churn-v1"
    assert (job["AutoMLJobStatus"], job["AutoMLJobSecondaryStatus"]) == ("InProgress", "Starting")
    assert {k: v for k, v in job.items() if k not in _AUTOML_STATE} == _without_tags(request)
    assert "BestCandidate" not in job and "EndTime" not in job  # moto alone invents a best candidate


def test_describe_auto_ml_job_v2_describes_a_v1_job_in_the_v2_shape(
    sagemaker: Any, automl_request: Any
) -> None:
    request = automl_request("churn-v1")
    sagemaker.create_auto_ml_job(**request)

    job = _automl(sagemaker, "churn-v1")

    assert {k: v for k, v in job.items() if k not in _AUTOML_STATE} == {
        "AutoMLJobName": "churn-v1",
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "text/csv;header=present",
                "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}},
            }
        ],
        "OutputDataConfig": request["OutputDataConfig"],
        "RoleArn": request["RoleArn"],
        "AutoMLJobObjective": {"MetricName": "F1"},
        "AutoMLProblemTypeConfig": {
            "TabularJobConfig": {
                "CandidateGenerationConfig": {"AlgorithmsConfig": [{"AutoMLAlgorithms": ["xgboost", "lightgbm"]}]},
                "FeatureSpecificationS3Uri": "s3://bucket/features.json",
                "CompletionCriteria": {"MaxCandidates": 10, "MaxAutoMLJobRuntimeInSeconds": 7200},
                "Mode": "ENSEMBLING",
                "GenerateCandidateDefinitionsOnly": False,
                "ProblemType": "BinaryClassification",
                "TargetAttributeName": "churned",
                "SampleWeightAttributeName": "weight",
            }
        },
        "AutoMLProblemTypeConfigName": "Tabular",
        "ModelDeployConfig": {"AutoGenerateEndpointName": True},
        "SecurityConfig": request["AutoMLJobConfig"]["SecurityConfig"],
        "DataSplitConfig": {"ValidationFraction": 0.25},
    }
    assert job["SecurityConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert job["AutoMLJobStatus"] == "InProgress"


def test_the_v2_description_of_a_v1_job_is_a_valid_create_auto_ml_job_v2_request(
    sagemaker: Any, sagemaker_model: Any
) -> None:
    # Every member the botocore model knows for V1, to catch a V1 member the conversion loses.
    shape = sagemaker_model.operation_model("CreateAutoMLJob").input_shape
    request = {**shapes.example_value(shape), "AutoMLJobName": "everything"}
    sagemaker.create_auto_ml_job(**request)
    v2_input = sagemaker_model.operation_model("CreateAutoMLJobV2").input_shape

    job = _automl(sagemaker, "everything")

    copy_request = {k: v for k, v in job.items() if k in v2_input.members}
    validate_parameters(copy_request, v2_input)  # raises ParamValidationError
    tabular = job["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    config = request["AutoMLJobConfig"]
    assert tabular["CompletionCriteria"] == config["CompletionCriteria"]
    assert tabular["FeatureSpecificationS3Uri"] == config["CandidateGenerationConfig"]["FeatureSpecificationS3Uri"]
    assert tabular["TargetAttributeName"] == request["InputDataConfig"][0]["TargetAttributeName"]
    assert (job["SecurityConfig"], job["DataSplitConfig"]) == (config["SecurityConfig"], config["DataSplitConfig"])
    lost = set(request) - {"InputDataConfig", "AutoMLJobConfig", "ProblemType", "GenerateCandidateDefinitionsOnly"}
    assert lost - {"Tags"} <= set(job)


def test_an_encrypted_v2_copy_of_a_v1_job_describes_like_the_original(
    sagemaker: Any, sagemaker_model: Any, automl_request: Any
) -> None:
    # What the guard does: DescribeAutoMLJobV2, then CreateAutoMLJobV2 with encryption on.
    sagemaker.create_auto_ml_job(**automl_request("churn-v1"))
    original = _automl(sagemaker, "churn-v1")
    v2_input = sagemaker_model.operation_model("CreateAutoMLJobV2").input_shape
    request = {k: copy.deepcopy(v) for k, v in original.items() if k in v2_input.members}
    request["AutoMLJobName"] = "churn-v1-ict"
    request["SecurityConfig"]["EnableInterContainerTrafficEncryption"] = True

    sagemaker.create_auto_ml_job_v2(**request)

    copied = _automl(sagemaker, "churn-v1-ict")
    assert copied["SecurityConfig"]["EnableInterContainerTrafficEncryption"] is True
    same = {"AutoMLJobName", "SecurityConfig"} | _AUTOML_STATE
    assert {k: v for k, v in copied.items() if k not in same} == {k: v for k, v in original.items() if k not in same}
    with pytest.raises(ClientError):
        sagemaker.describe_auto_ml_job(AutoMLJobName="churn-v1-ict")


# --- AutoML jobs: V2 ---------------------------------------------------------------------------------


def test_a_v2_automl_job_is_described_by_v2_only(sagemaker: Any, automl_v2_request: Any) -> None:
    request = automl_v2_request("price-v2", Tags=[{"Key": "team", "Value": "ml"}])
    sagemaker.create_auto_ml_job_v2(**request)

    job = _automl(sagemaker, "price-v2")

    described = {k: v for k, v in job.items() if k not in _AUTOML_STATE}
    assert described == {**_without_tags(request), "AutoMLProblemTypeConfigName": "Tabular"}
    assert (job["AutoMLJobStatus"], job["AutoMLJobSecondaryStatus"]) == ("InProgress", "Starting")
    # moto alone invents ModelDeployConfig (EndpointName "EndpointName") and a best candidate.
    assert not {"ModelDeployConfig", "BestCandidate", "EndTime"} & set(job)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.describe_auto_ml_job(AutoMLJobName="price-v2")
    assert _error(excinfo) == ("ResourceNotFound", "Could not find AutoML job with name price-v2.")


def test_describe_auto_ml_job_v2_returns_every_member_of_the_model_that_create_sent(
    sagemaker: Any, sagemaker_model: Any
) -> None:
    shape = sagemaker_model.operation_model("CreateAutoMLJobV2").input_shape
    request = {**shapes.example_value(shape), "AutoMLJobName": "everything"}
    sagemaker.create_auto_ml_job_v2(**request)

    job = _automl(sagemaker, "everything")

    assert {k: v for k, v in job.items() if k not in _AUTOML_STATE | {"AutoMLProblemTypeConfigName"}} == (
        _without_tags(request)
    )
    [configured] = request["AutoMLProblemTypeConfig"]
    assert job["AutoMLProblemTypeConfigName"] == configured.removesuffix("JobConfig")


@pytest.mark.parametrize(
    ("member", "config", "name"),
    [
        ("ImageClassificationJobConfig", {}, "ImageClassification"),
        ("TextClassificationJobConfig", {"ContentColumn": "text", "TargetLabelColumn": "label"}, "TextClassification"),
        ("TextGenerationJobConfig", {"BaseModelName": "Falcon7BInstruct"}, "TextGeneration"),
    ],
)
def test_the_problem_type_config_name_follows_the_configured_problem(
    sagemaker: Any, automl_v2_request: Any, member: str, config: dict[str, Any], name: str
) -> None:
    sagemaker.create_auto_ml_job_v2(**automl_v2_request("other", AutoMLProblemTypeConfig={member: config}))

    assert _automl(sagemaker, "other")["AutoMLProblemTypeConfigName"] == name


@pytest.mark.parametrize("first", [1, 2])
def test_v1_and_v2_jobs_share_one_name_space(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, first: int
) -> None:
    creates = [
        lambda name: sagemaker.create_auto_ml_job(**automl_request(name)),
        lambda name: sagemaker.create_auto_ml_job_v2(**automl_v2_request(name)),
    ]
    if first == 2:
        creates.reverse()
    creates[0]("shared")

    with pytest.raises(ClientError) as excinfo:
        creates[1]("SHARED")

    assert _error(excinfo)[0] == "ResourceInUse"
    assert len(sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]) == 1


@pytest.mark.parametrize("call", ["describe_auto_ml_job", "describe_auto_ml_job_v2", "stop_auto_ml_job"])
def test_an_unknown_automl_job_is_not_found(sagemaker: Any, call: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(sagemaker, call)(AutoMLJobName="nobody")

    assert _error(excinfo) == ("ResourceNotFound", "Could not find AutoML job with name nobody.")


# --- AutoML jobs: lifecycle, list, tags ------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_a_stopped_automl_job_is_seen_stopping_once_then_stopped(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, version: int
) -> None:
    if version == 1:
        sagemaker.create_auto_ml_job(**automl_request("halt"))
    else:
        sagemaker.create_auto_ml_job_v2(**automl_v2_request("halt"))

    sagemaker.stop_auto_ml_job(AutoMLJobName="halt")
    listed = sagemaker.list_auto_ml_jobs(StatusEquals="Stopping")["AutoMLJobSummaries"]
    first, second = _automl(sagemaker, "halt"), _automl(sagemaker, "halt")

    assert [(s["AutoMLJobName"], s["AutoMLJobSecondaryStatus"]) for s in listed] == [("halt", "Stopping")]
    assert (first["AutoMLJobStatus"], first["AutoMLJobSecondaryStatus"]) == ("Stopping", "Stopping")
    assert "EndTime" not in first
    assert (second["AutoMLJobStatus"], second["AutoMLJobSecondaryStatus"]) == ("Stopped", "Stopped")
    assert second["EndTime"] >= second["CreationTime"]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.stop_auto_ml_job(AutoMLJobName="halt")
    assert _error(excinfo) == (
        "ValidationException",
        "The request was rejected because the AutoML job is in status Stopped.",
    )


def test_an_automl_job_completes_or_fails_by_itself(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, account: str, region: str
) -> None:
    sagemaker.create_auto_ml_job(**automl_request("done"))
    sagemaker.create_auto_ml_job_v2(**automl_v2_request("broken"))

    complete_automl_job(account, region, "Done")
    complete_automl_job(account, region, "broken", "Failed", failure_reason="ClientError: no data")

    done, broken = _automl(sagemaker, "done"), _automl(sagemaker, "broken")
    assert (done["AutoMLJobStatus"], done["AutoMLJobSecondaryStatus"]) == ("Completed", "Completed")
    assert sagemaker.describe_auto_ml_job(AutoMLJobName="done")["AutoMLJobStatus"] == "Completed"
    assert (broken["AutoMLJobStatus"], broken["FailureReason"]) == ("Failed", "ClientError: no data")
    assert "EndTime" in done and "EndTime" in broken
    [summary] = sagemaker.list_auto_ml_jobs(StatusEquals="Failed")["AutoMLJobSummaries"]
    assert (summary["AutoMLJobName"], summary["FailureReason"]) == ("broken", "ClientError: no data")
    assert summary["AutoMLJobSecondaryStatus"] == "Failed" and "EndTime" in summary
    with pytest.raises(ValueError, match="not a final status"):
        complete_automl_job(account, region, "done", "Stopping")
    with pytest.raises(ClientError):
        sagemaker.stop_auto_ml_job(AutoMLJobName="done")


def test_list_auto_ml_jobs_lists_both_versions_by_name_descending_and_filters(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, account: str, region: str
) -> None:
    sagemaker.create_auto_ml_job(**automl_request("b-v1"))
    sagemaker.create_auto_ml_job_v2(**automl_v2_request("c-v2"))
    sagemaker.create_auto_ml_job_v2(**automl_v2_request("a-v2"))
    complete_automl_job(account, region, "c-v2")

    listed = sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]
    running = sagemaker.list_auto_ml_jobs(StatusEquals="InProgress", SortOrder="Ascending")["AutoMLJobSummaries"]
    page = sagemaker.list_auto_ml_jobs(MaxResults=1, NameContains="v2")

    assert [s["AutoMLJobName"] for s in listed] == ["c-v2", "b-v1", "a-v2"]  # the API's default order
    assert [s["AutoMLJobName"] for s in running] == ["a-v2", "b-v1"]
    assert [s["AutoMLJobName"] for s in page["AutoMLJobSummaries"]] == ["c-v2"]
    rest = sagemaker.list_auto_ml_jobs(MaxResults=1, NameContains="v2", NextToken=page["NextToken"])
    assert [s["AutoMLJobName"] for s in rest["AutoMLJobSummaries"]] == ["a-v2"] and "NextToken" not in rest
    completed = next(s for s in listed if s["AutoMLJobName"] == "c-v2")
    assert (completed["AutoMLJobStatus"], "EndTime" in completed) == ("Completed", True)


def test_automl_job_tags_are_listed_and_add_tags_overwrites_a_key(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any
) -> None:
    v1 = sagemaker.create_auto_ml_job(**automl_request("t1", Tags=[{"Key": "team", "Value": "ml"}]))["AutoMLJobArn"]
    v2 = sagemaker.create_auto_ml_job_v2(**automl_v2_request("t2"))["AutoMLJobArn"]

    sagemaker.add_tags(ResourceArn=v1, Tags=[{"Key": "team", "Value": "data"}])
    sagemaker.add_tags(ResourceArn=v2, Tags=[{"Key": "ict", "Value": "on"}])

    assert sagemaker.list_tags(ResourceArn=v1)["Tags"] == [{"Key": "team", "Value": "data"}]
    assert sagemaker.list_tags(ResourceArn=v2)["Tags"] == [{"Key": "ict", "Value": "on"}]


# --- AutoML jobs: children ---------------------------------------------------------------------------


@pytest.mark.parametrize("encrypted", [False, True])
def test_an_automl_jobs_children_name_it_and_carry_its_security_config(
    sagemaker: Any, automl_request: Any, account: str, region: str, encrypted: bool
) -> None:
    request = automl_request("parent")
    request["AutoMLJobConfig"]["SecurityConfig"]["EnableInterContainerTrafficEncryption"] = encrypted
    arn = sagemaker.create_auto_ml_job(**request)["AutoMLJobArn"]

    children = start_automl_children(account, region, "parent", instance_count=2)

    assert isinstance(children, AutoMLChildren)
    training = sagemaker.describe_training_job(TrainingJobName=children.training_job_name)
    processing = _processing(sagemaker, children.processing_job_name)
    vpc = request["AutoMLJobConfig"]["SecurityConfig"]["VpcConfig"]
    assert (training["AutoMLJobArn"], processing["AutoMLJobArn"]) == (arn, arn)
    assert training["EnableInterContainerTrafficEncryption"] is encrypted
    assert processing["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": encrypted, "VpcConfig": vpc}
    assert training["VpcConfig"] == vpc and training["ResourceConfig"]["InstanceCount"] == 2
    assert (training["TrainingJobStatus"], processing["ProcessingJobStatus"]) == ("InProgress", "InProgress")
    assert training["RoleArn"] == processing["RoleArn"] == request["RoleArn"]
    assert children.training_job_name.startswith("parent-") and len(children.training_job_name) <= 63
    assert "TuningJobArn" not in training


def test_stopping_an_automl_job_stops_its_running_children(
    sagemaker: Any, automl_v2_request: Any, job_request: Any, account: str, region: str
) -> None:
    sagemaker.create_auto_ml_job_v2(**automl_v2_request("parent"))
    first = start_automl_children(account, region, "parent")
    second = start_automl_children(account, region, "parent")
    complete_processing_job(account, region, second.processing_job_name)
    sagemaker.create_training_job(**job_request("candidate"))
    attach_to_automl_job(account, region, "candidate", "parent")

    sagemaker.stop_auto_ml_job(AutoMLJobName="parent")

    statuses = {
        name: sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        for name in (first.training_job_name, second.training_job_name, "candidate")
    }
    assert set(statuses.values()) == {"Stopping"}
    assert _processing(sagemaker, first.processing_job_name)["ProcessingJobStatus"] == "Stopping"
    assert _processing(sagemaker, second.processing_job_name)["ProcessingJobStatus"] == "Completed"
    candidate = sagemaker.describe_training_job(TrainingJobName="candidate")
    assert candidate["TrainingJobStatus"] == "Stopped"
    assert candidate["AutoMLJobArn"] == _automl(sagemaker, "parent")["AutoMLJobArn"]


def test_a_processing_job_attached_to_an_automl_job_names_it_and_stops_with_it(
    sagemaker: Any, processing_request: Any, automl_request: Any, account: str, region: str
) -> None:
    arn = sagemaker.create_auto_ml_job(**automl_request("parent"))["AutoMLJobArn"]
    sagemaker.create_processing_job(**processing_request("data-builder"))

    attach_processing_job(account, region, "data-builder", arn.replace("parent", "PARENT"))

    assert _processing(sagemaker, "data-builder")["AutoMLJobArn"] == arn
    sagemaker.stop_auto_ml_job(AutoMLJobName="parent")
    assert _processing(sagemaker, "data-builder")["ProcessingJobStatus"] == "Stopping"


def test_children_of_an_unknown_automl_job_are_refused(account: str, region: str, aws: None) -> None:
    with pytest.raises(ResourceNotFound):
        start_automl_children(account, region, "nobody")


# --- CloudTrail ----------------------------------------------------------------------------------------


def test_the_new_creates_and_stops_are_emitted() -> None:
    for operation in (
        "CreateProcessingJob",
        "StopProcessingJob",
        "CreateAutoMLJob",
        "CreateAutoMLJobV2",
        "StopAutoMLJob",
    ):
        assert ("sagemaker", operation) in cloudtrail.EMITTED_OPERATIONS


def test_a_rule_receives_create_processing_job(sagemaker: Any, processing_request: Any, event_tap: Any) -> None:
    received = event_tap({"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateProcessingJob"]}})

    arn = sagemaker.create_processing_job(**processing_request("evented"))["ProcessingJobArn"]

    [event] = received()
    detail = event["detail"]
    assert detail["responseElements"] == {"processingJobArn": arn}
    parameters = detail["requestParameters"]
    assert parameters["processingJobName"] == "evented"
    assert parameters["networkConfig"]["enableInterContainerTrafficEncryption"] is False
    assert parameters["networkConfig"]["vpcConfig"]["subnets"] == ["subnet-0123456789abcdef0"]
    assert parameters["processingResources"]["clusterConfig"]["instanceCount"] == 2
    assert parameters["environment"] == {"STAGE": "prep"}  # map keys are user data, kept


def test_a_rule_receives_both_automl_creates(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, event_tap: Any
) -> None:
    received = event_tap(
        {"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateAutoMLJob", "CreateAutoMLJobV2"]}}
    )

    v1 = sagemaker.create_auto_ml_job(**automl_request("ev-v1"))["AutoMLJobArn"]
    v2 = sagemaker.create_auto_ml_job_v2(**automl_v2_request("ev-v2"))["AutoMLJobArn"]
    with pytest.raises(ClientError):
        sagemaker.create_auto_ml_job_v2(**automl_v2_request("ev-v1"))

    first, second, refused = sorted(received(), key=lambda e: (e["detail"]["eventTime"], "errorCode" in e["detail"]))
    events = {e["detail"]["requestParameters"]["autoMLJobName"]: e["detail"] for e in (first, second)}
    assert events["ev-v1"]["eventName"] == "CreateAutoMLJob"
    assert events["ev-v1"]["responseElements"] == {"autoMLJobArn": v1}
    security = events["ev-v1"]["requestParameters"]["autoMLJobConfig"]["securityConfig"]
    assert security["enableInterContainerTrafficEncryption"] is False
    assert events["ev-v2"]["eventName"] == "CreateAutoMLJobV2"
    assert events["ev-v2"]["responseElements"] == {"autoMLJobArn": v2}
    assert events["ev-v2"]["requestParameters"]["securityConfig"]["enableInterContainerTrafficEncryption"] is False
    assert (refused["detail"]["errorCode"], refused["detail"]["responseElements"]) == ("ResourceInUse", None)
