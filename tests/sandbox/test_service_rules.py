"""The embedded SageMaker refuses what the real service refuses (sandbox/service_rules.py).

Each rule is shown refusing a real-shaped request with its error code and the service's message
shape, next to the nearest request the service accepts. The table itself is checked for a source
and an enforcement function per rule, and for a test per rule id (this module names every id).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.sagemaker.models import sagemaker_backends

from sandbox import service_rules
from sandbox.builtin_algorithms import (
    ALGORITHM_REGISTRIES,
    BUILT_IN_ALGORITHM_METRICS,
    builtin_algorithm,
)
from sandbox.sagemaker_extension import complete_tuning_job

pytestmark = pytest.mark.sandbox

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/training"
CUSTOM_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-trainer:1.0"
# SageMaker's XGBoost algorithm in eu-west-1 (image_uri_config/xgboost.json, version 1.7-1).
XGBOOST_1_7 = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
METRICS = [{"Name": "validation:loss", "Regex": "val_loss=([0-9\\.]+)"}]
OBJECTIVE = {"Type": "Minimize", "MetricName": "validation:loss"}


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _refused_by(excinfo: pytest.ExceptionInfo[ClientError], rule_id: str, **values: Any) -> str:
    """Assert the answer is rule `rule_id`'s error and message; return the message."""
    entry = service_rules.rule(rule_id)
    code, message = _error(excinfo)
    assert code == entry.error_code == "ValidationException"
    assert message == entry.message.format(**values)
    return message


def _tags(count: int, prefix: str = "team") -> list[dict[str, str]]:
    return [{"Key": f"{prefix}-{i}", "Value": f"v{i}"} for i in range(count)]


def _training(name: str = "train-1", **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request for a 2-instance custom-image job."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": CUSTOM_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"epochs": "3"},
    }
    request.update(overrides)
    return request


def _definition(**overrides: Any) -> dict[str, Any]:
    """A tuning job's TrainingJobDefinition for a custom image with its metric definitions."""
    training = _training()
    definition: dict[str, Any] = {
        "StaticHyperParameters": training["HyperParameters"],
        "AlgorithmSpecification": {
            "TrainingImage": CUSTOM_IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": METRICS,
        },
        **{
            key: training[key]
            for key in (
                "RoleArn",
                "InputDataConfig",
                "OutputDataConfig",
                "ResourceConfig",
                "StoppingCondition",
            )
        },
    }
    definition.update(overrides)
    return definition


def _tuning(name: str = "tune-1", **overrides: Any) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request (Bayesian, one definition)."""
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": OBJECTIVE,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1"}
                ]
            },
        },
        "TrainingJobDefinition": _definition(),
    }
    request.update(overrides)
    return request


def _warm_start(*parents: str) -> dict[str, Any]:
    return {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in parents],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }


def _ended_parent(sagemaker: Any, name: str, status: str = "Completed", **overrides: Any) -> None:
    sagemaker.create_hyper_parameter_tuning_job(**_tuning(name, **overrides))
    complete_tuning_job(ACCOUNT, REGION, name, status)


# --- the table --------------------------------------------------------------------------------


def test_every_rule_has_an_id_operations_a_source_and_an_enforcement_function() -> None:
    ids = [entry.id for entry in service_rules.RULES]
    assert len(ids) == len(set(ids))
    known = {
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateProcessingJob",
        "CreateAutoMLJob",
        "CreateAutoMLJobV2",
        "AddTags",
    }
    for entry in service_rules.RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", entry.id), entry.id
        assert entry.operations and entry.operations <= known | service_rules.MONITORING_OPERATIONS, entry.id
        assert entry.refuses.endswith(".") and entry.message, entry.id
        assert entry.error_code == "ValidationException", entry.id
        assert re.match(r"https://(docs\.aws\.amazon\.com|github\.com)/", entry.source), entry.id
        assert callable(entry.enforce) and entry.enforce.__module__ == service_rules.__name__


def test_every_rule_id_appears_in_a_test() -> None:
    source = Path(__file__).read_text() + (Path(__file__).parent / "test_monitoring_schedules.py").read_text()
    # Each id must be named as a string literal outside this meta-test (which names none).
    missing = [e.id for e in service_rules.RULES if f'"{e.id}"' not in source]
    assert not missing


def test_the_rule_limits_match_the_botocore_model(sagemaker_model: Any) -> None:
    def shape(name: str) -> Any:
        return sagemaker_model.shape_for(name)

    assert shape("TrainingJobName").metadata["max"] == service_rules.MAX_TRAINING_JOB_NAME_LENGTH
    assert (
        shape("HyperParameterTuningJobName").metadata["max"]
        == service_rules.MAX_TUNING_JOB_NAME_LENGTH
    )
    assert shape("TagList").metadata["max"] == service_rules.MAX_TAGS
    assert shape("ProcessingJobName").metadata["max"] == service_rules.MAX_PROCESSING_JOB_NAME_LENGTH
    assert shape("AutoMLJobName").metadata["max"] == service_rules.MAX_AUTOML_JOB_NAME_LENGTH
    warm_start = shape("HyperParameterTuningJobWarmStartConfig")
    parents = warm_start.members["ParentHyperParameterTuningJobs"]
    assert parents.metadata["max"] == service_rules.MAX_WARM_START_PARENTS
    definition = shape("HyperParameterTrainingJobDefinition")
    assert set(service_rules.ALLOWED_WARM_START_CHANGES) <= set(definition.members)


def test_the_read_only_members_the_current_botocore_model_documents() -> None:
    # A new output-only member in a shape Create shares with Describe shows up here.
    assert service_rules.read_only_members("CreateTrainingJob") == [
        "ResourceConfig.SelectedInstanceCount",
        "ResourceConfig.SelectedInstanceType",
    ]
    assert service_rules.read_only_members("CreateHyperParameterTuningJob") == [
        "TrainingJobDefinition.ResourceConfig.SelectedInstanceCount",
        "TrainingJobDefinition.ResourceConfig.SelectedInstanceType",
        "TrainingJobDefinitions[].ResourceConfig.SelectedInstanceCount",
        "TrainingJobDefinitions[].ResourceConfig.SelectedInstanceType",
    ]


@pytest.mark.parametrize(
    ("documentation", "operation"),
    [
        (
            "This field is read-only and isn't accepted in <code>CreateTrainingJob</code> requests.",
            "CreateTrainingJob",
        ),
        (
            "This field is read-only and is not accepted in CreateProcessingJob requests.",
            "CreateProcessingJob",
        ),
        ("A directory can be mounted either in ro (read-only) or rw (read-write) mode.", None),
    ],
)
def test_the_read_only_documentation_pattern(documentation: str, operation: str | None) -> None:
    text = re.sub(r"<[^>]+>", "", documentation)
    match = service_rules.READ_ONLY_DOCUMENTATION.search(text)
    assert (match and match["operation"]) == operation


# --- happy paths ------------------------------------------------------------------------------


def test_valid_requests_of_each_operation_are_accepted(sagemaker: Any) -> None:
    training = _training("t" * 63, Tags=_tags(50))
    arn = sagemaker.create_training_job(**training)["TrainingJobArn"]
    tuning = _tuning("u" * 32, Tags=_tags(50))
    sagemaker.create_hyper_parameter_tuning_job(**tuning)
    # AddTags that overwrites existing keys keeps the resource at 50 user tags.
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team-0", "Value": "new"}])

    assert sagemaker.describe_training_job(TrainingJobName="t" * 63)["TrainingJobStatus"] == (
        "InProgress"
    )
    assert len(sagemaker.list_tags(ResourceArn=arn)["Tags"]) == 50
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="u" * 32)
    assert described["TrainingJobDefinition"] == tuning["TrainingJobDefinition"]


def test_rules_check_accepts_what_the_service_accepts() -> None:
    service_rules.check("CreateTrainingJob", _training())
    service_rules.check("CreateHyperParameterTuningJob", _tuning())
    service_rules.check(
        "AddTags", {"ResourceArn": "arn", "Tags": _tags(10)}, current_tags=_tags(40)
    )


# --- names ------------------------------------------------------------------------------------


def test_a_training_job_name_over_63_characters_is_refused(sagemaker: Any) -> None:
    name = "t" * 64
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**_training(name))

    message = _refused_by(excinfo, "training-job-name-max-63", value=name)
    assert message == (
        f"1 validation error detected: Value '{name}' at 'trainingJobName' failed to satisfy "
        "constraint: Member must have length less than or equal to 63"
    )


def test_a_tuning_job_name_over_32_characters_is_refused(sagemaker: Any) -> None:
    name = "u" * 33
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(**_tuning(name))

    message = _refused_by(excinfo, "tuning-job-name-max-32", value=name)
    assert message.endswith(
        "at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must have length "
        "less than or equal to 32"
    )


def test_a_processing_job_name_over_63_characters_is_refused(
    sagemaker: Any, processing_request: Any
) -> None:
    name = "p" * 64
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_processing_job(**processing_request(name))

    message = _refused_by(excinfo, "processing-job-name-max-63", value=name)
    assert message.endswith(
        "at 'processingJobName' failed to satisfy constraint: Member must have length less than "
        "or equal to 63"
    )
    assert sagemaker.list_processing_jobs()["ProcessingJobSummaries"] == []
    sagemaker.create_processing_job(**processing_request("p" * 63))


@pytest.mark.parametrize("version", [1, 2])
def test_an_automl_job_name_over_32_characters_is_refused_by_both_creates(
    sagemaker: Any, automl_request: Any, automl_v2_request: Any, version: int
) -> None:
    name = "a" * 33
    create, request = (
        (sagemaker.create_auto_ml_job, automl_request)
        if version == 1
        else (sagemaker.create_auto_ml_job_v2, automl_v2_request)
    )
    with pytest.raises(ClientError) as excinfo:
        create(**request(name))

    message = _refused_by(excinfo, "automl-job-name-max-32", value=name)
    assert "at 'autoMLJobName'" in message and message.endswith("less than or equal to 32")
    assert sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"] == []
    create(**request("a" * 32))


# --- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["aws:cloudformation:stack-name", "AWS:Team"])
def test_reserved_tag_keys_are_refused_by_create_and_add_tags(sagemaker: Any, key: str) -> None:
    tags = [{"Key": "team", "Value": "ml"}, {"Key": key, "Value": "x"}]
    expected = f"System prefix 'aws:' reserved for AWS usage in tag key: {key}"
    with pytest.raises(ClientError) as training:
        sagemaker.create_training_job(**_training(Tags=tags))
    with pytest.raises(ClientError) as tuning:
        sagemaker.create_hyper_parameter_tuning_job(**_tuning(Tags=tags))
    arn = sagemaker.create_training_job(**_training("tagged"))["TrainingJobArn"]
    with pytest.raises(ClientError) as add_tags:
        sagemaker.add_tags(ResourceArn=arn, Tags=tags)

    for excinfo in (training, tuning, add_tags):
        assert _refused_by(excinfo, "tags-reserved-aws-prefix", key=key) == expected
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == []


@pytest.mark.parametrize("operation", ["training", "tuning"])
def test_more_than_50_tags_at_create_are_refused(sagemaker: Any, operation: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        if operation == "training":
            sagemaker.create_training_job(**_training(Tags=_tags(51)))
        else:
            sagemaker.create_hyper_parameter_tuning_job(**_tuning(Tags=_tags(51)))

    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert re.fullmatch(
        r"1 validation error detected: Value '\[Tag\(Key=team-0, Value=v0\), .*\]' at 'tags' "
        r"failed to satisfy constraint: Member must have length less than or equal to 50",
        message,
    )
    assert message == service_rules.rule("tags-max-50").message.format(
        value=service_rules.tag_list_value(_tags(51))
    )


def test_add_tags_counts_the_resource_tags_plus_the_new_keys(sagemaker: Any) -> None:
    arn = sagemaker.create_training_job(**_training(Tags=_tags(45)))["TrainingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=_tags(5, prefix="more"))  # 50: accepted

    with pytest.raises(ClientError) as excinfo:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "one-too-many", "Value": "x"}])

    _refused_by(
        excinfo,
        "tags-max-50",
        value=service_rules.tag_list_value([{"Key": "one-too-many", "Value": "x"}]),
    )
    assert len(sagemaker.list_tags(ResourceArn=arn)["Tags"]) == 50


def test_aws_tags_the_service_put_on_a_resource_do_not_count(sagemaker: Any) -> None:
    arn = sagemaker.create_training_job(**_training(Tags=_tags(49)))["TrainingJobArn"]
    # Tags SageMaker or CloudFormation set themselves (not through AddTags).
    job = sagemaker_backends[ACCOUNT][REGION].training_jobs["train-1"]
    job.tags.extend(_tags(3, prefix="aws:cloudformation:x"))

    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "fiftieth", "Value": "x"}])

    assert len(sagemaker.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]) == 53


@pytest.mark.parametrize(
    ("tag", "at", "maximum"),
    [
        ({"Key": "k" * 129, "Value": "x"}, "tags.2.member.key", 128),
        ({"Key": "long-value", "Value": "v" * 257}, "tags.2.member.value", 256),
    ],
)
def test_tag_keys_and_values_over_their_length_are_refused(
    sagemaker: Any, tag: dict[str, str], at: str, maximum: int
) -> None:
    tags = [{"Key": "team", "Value": "ml"}, tag]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**_training(Tags=tags))

    value = tag["Key"] if at.endswith("key") else tag["Value"]
    message = _refused_by(excinfo, "tags-key-value-length", value=value, at=at, max=maximum)
    assert message.endswith(f"Member must have length less than or equal to {maximum}")


# --- output-only members and InstancePreferences ----------------------------------------------


def test_selected_instance_type_is_refused_in_create_training_job(sagemaker: Any) -> None:
    resource = {**_training()["ResourceConfig"], "SelectedInstanceType": "ml.m5.xlarge"}
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**_training(ResourceConfig=resource))

    _refused_by(
        excinfo,
        "read-only-members",
        path="ResourceConfig.SelectedInstanceType",
        operation="CreateTrainingJob",
    )


def test_selected_instance_count_is_refused_in_a_tuning_definition(sagemaker: Any) -> None:
    resource = {**_definition()["ResourceConfig"], "SelectedInstanceCount": 2}
    definitions = [
        _definition(DefinitionName="a", TuningObjective=OBJECTIVE),
        _definition(DefinitionName="b", TuningObjective=OBJECTIVE, ResourceConfig=resource),
    ]
    request = _tuning(TrainingJobDefinitions=definitions)
    del request["TrainingJobDefinition"]
    del request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(**request)

    _refused_by(
        excinfo,
        "read-only-members",
        path="TrainingJobDefinitions[1].ResourceConfig.SelectedInstanceCount",
        operation="CreateHyperParameterTuningJob",
    )


def test_selected_instance_type_is_refused_in_create_processing_job(
    sagemaker: Any, processing_request: Any
) -> None:
    cluster = {**processing_request()["ProcessingResources"]["ClusterConfig"], "SelectedInstanceType": "ml.m5.xlarge"}
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_processing_job(**processing_request(ProcessingResources={"ClusterConfig": cluster}))

    _refused_by(
        excinfo,
        "read-only-members",
        path="ProcessingResources.ClusterConfig.SelectedInstanceType",
        operation="CreateProcessingJob",
    )


@pytest.mark.parametrize("operation", ["CreateProcessingJob", "CreateAutoMLJob", "CreateAutoMLJobV2"])
def test_the_tag_rules_apply_to_processing_and_automl_creates(
    sagemaker: Any, processing_request: Any, automl_request: Any, automl_v2_request: Any, operation: str
) -> None:
    create, request = {
        "CreateProcessingJob": (sagemaker.create_processing_job, processing_request),
        "CreateAutoMLJob": (sagemaker.create_auto_ml_job, automl_request),
        "CreateAutoMLJobV2": (sagemaker.create_auto_ml_job_v2, automl_v2_request),
    }[operation]
    with pytest.raises(ClientError) as excinfo:
        create(**request("tagged", Tags=[{"Key": "aws:team", "Value": "ml"}]))
    _refused_by(excinfo, "tags-reserved-aws-prefix", key="aws:team")

    with pytest.raises(ClientError) as excinfo:
        create(**request("tagged", Tags=_tags(51)))
    _refused_by(excinfo, "tags-max-50", value=service_rules.tag_list_value(_tags(51)))


def test_instance_preferences_are_described_with_the_selected_instance(sagemaker: Any) -> None:
    preferences = [
        {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2},
        {"InstanceType": "ml.g6.2xlarge", "InstanceCount": 2},
    ]
    resource = {"InstancePreferences": preferences, "VolumeSizeInGB": 30}
    sagemaker.create_training_job(**_training("flexible", ResourceConfig=resource))

    described = sagemaker.describe_training_job(TrainingJobName="flexible")

    assert described["ResourceConfig"] == {
        **resource,
        "SelectedInstanceType": "ml.g5.2xlarge",
        "SelectedInstanceCount": 2,
    }
    # A copy that sends the described ResourceConfig back is refused, as by the real service.
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(
            **_training("flexible-copy", ResourceConfig=described["ResourceConfig"])
        )
    assert _error(excinfo)[1].startswith("ResourceConfig.SelectedInstance")


_GROUP = {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2, "InstanceGroupName": "g"}
_SPOT = {
    "EnableManagedSpotTraining": True,
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
}


@pytest.mark.parametrize(
    ("extra_resource", "extra_request", "members"),
    [
        ({"InstanceType": "ml.g5.2xlarge"}, {}, "InstanceType"),
        ({"InstanceGroups": [_GROUP]}, {}, "InstanceGroups"),
        ({}, _SPOT, "EnableManagedSpotTraining"),
        ({"InstanceType": "ml.g5.2xlarge"}, _SPOT, "InstanceType, EnableManagedSpotTraining"),
    ],
)
def test_instance_preferences_with_an_exclusive_member_are_refused(
    sagemaker: Any, extra_resource: dict[str, Any], extra_request: dict[str, Any], members: str
) -> None:
    resource = {
        "InstancePreferences": [{"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2}],
        "VolumeSizeInGB": 30,
        **extra_resource,
    }
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_training_job(**_training(ResourceConfig=resource, **extra_request))

    _refused_by(excinfo, "instance-preferences-exclusive", path="ResourceConfig", members=members)


def test_instance_preferences_with_spot_explicitly_off_are_accepted(sagemaker: Any) -> None:
    resource = {"InstancePreferences": [{"InstanceType": "ml.g5.2xlarge", "InstanceCount": 2}]}
    sagemaker.create_training_job(
        **_training(ResourceConfig=resource, EnableManagedSpotTraining=False)
    )


# --- algorithms and metric definitions --------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "algorithm"),
    [
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1", "xgboost"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "xgboost"),
        ("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost"),
        ("438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1", "kmeans"),
        # A customer's own image of the same repository name is not built in.
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", None),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", None),
        # SageMaker's us-east-1 registry named with another region is not a registry there.
        ("683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", None),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/my-model:1", None),
    ],
)
def test_builtin_algorithms_are_sagemakers_registry_and_repository(
    image: str, algorithm: str | None
) -> None:
    assert builtin_algorithm(image) == algorithm


def test_the_registry_table_covers_the_regions_the_sdk_lists() -> None:
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= set(ALGORITHM_REGISTRIES)
    assert {"683313688378", "811284229777", "382416733822"} <= ALGORITHM_REGISTRIES["us-east-1"]
    accounts = set().union(*ALGORITHM_REGISTRIES.values())
    assert all(re.fullmatch(r"\d{12}", account) for account in accounts)


def test_describe_fills_in_metric_definitions_for_the_versioned_xgboost(sagemaker: Any) -> None:
    spec = {"TrainingImage": XGBOOST_1_7, "TrainingInputMode": "File"}
    sagemaker.create_training_job(**_training("xgb", AlgorithmSpecification=spec))

    described = sagemaker.describe_training_job(TrainingJobName="xgb")

    assert described["AlgorithmSpecification"]["MetricDefinitions"] == list(
        BUILT_IN_ALGORITHM_METRICS["xgboost"]
    )


@pytest.mark.parametrize("operation", ["training", "tuning"])
def test_metric_definitions_for_a_builtin_algorithm_are_refused(
    sagemaker: Any, operation: str
) -> None:
    spec = {"TrainingImage": XGBOOST_1_7, "TrainingInputMode": "File", "MetricDefinitions": METRICS}
    with pytest.raises(ClientError) as excinfo:
        if operation == "training":
            sagemaker.create_training_job(**_training(AlgorithmSpecification=spec))
        else:
            definition = _definition(AlgorithmSpecification=spec)
            sagemaker.create_hyper_parameter_tuning_job(**_tuning(TrainingJobDefinition=definition))

    message = _refused_by(excinfo, "builtin-algorithm-metric-definitions")
    assert message.startswith("You can't override the metric definitions for Amazon SageMaker")


def test_metric_definitions_for_a_customer_image_of_the_same_name_are_accepted(
    sagemaker: Any,
) -> None:
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
    spec = {"TrainingImage": image, "TrainingInputMode": "File", "MetricDefinitions": METRICS}
    sagemaker.create_training_job(**_training("own-xgb", AlgorithmSpecification=spec))

    described = sagemaker.describe_training_job(TrainingJobName="own-xgb")

    assert described["AlgorithmSpecification"] == spec


@pytest.mark.parametrize("operation", ["training", "tuning"])
def test_metric_definitions_for_an_algorithm_resource_are_refused(
    sagemaker: Any, operation: str
) -> None:
    spec = {
        "AlgorithmName": "my-algorithm",
        "TrainingInputMode": "File",
        "MetricDefinitions": METRICS,
    }
    with pytest.raises(ClientError) as excinfo:
        if operation == "training":
            sagemaker.create_training_job(**_training(AlgorithmSpecification=spec))
        else:
            definition = _definition(AlgorithmSpecification=spec)
            sagemaker.create_hyper_parameter_tuning_job(**_tuning(TrainingJobDefinition=definition))

    _refused_by(excinfo, "algorithm-resource-metric-definitions", algorithm="my-algorithm")


def test_an_algorithm_resource_without_metric_definitions_is_accepted(sagemaker: Any) -> None:
    spec = {"AlgorithmName": "my-algorithm", "TrainingInputMode": "File"}
    sagemaker.create_training_job(**_training("algo", AlgorithmSpecification=spec))

    assert sagemaker.describe_training_job(TrainingJobName="algo")["AlgorithmSpecification"] == spec


@pytest.mark.parametrize("operation", ["training", "tuning"])
def test_algorithm_name_and_training_image_together_are_refused(
    sagemaker: Any, operation: str
) -> None:
    spec = {
        "AlgorithmName": "my-algorithm",
        "TrainingImage": CUSTOM_IMAGE,
        "TrainingInputMode": "File",
    }
    with pytest.raises(ClientError) as excinfo:
        if operation == "training":
            sagemaker.create_training_job(**_training(AlgorithmSpecification=spec))
        else:
            definition = _definition(AlgorithmSpecification=spec)
            sagemaker.create_hyper_parameter_tuning_job(**_tuning(TrainingJobDefinition=definition))

    path = "AlgorithmSpecification"
    if operation == "tuning":
        path = f"TrainingJobDefinition.{path}"
    _refused_by(excinfo, "algorithm-name-xor-training-image", path=path)


# --- warm start -------------------------------------------------------------------------------


def test_more_than_5_warm_start_parents_are_refused(sagemaker: Any) -> None:
    parents = [f"parent-{i}" for i in range(6)]
    for parent in parents:
        _ended_parent(sagemaker, parent)
    request = _tuning("warm", WarmStartConfig=_warm_start(*parents))

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(**request)

    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value '[")
    assert message.endswith(
        "at 'warmStartConfig.parentHyperParameterTuningJobs' failed to satisfy constraint: "
        "Member must have length less than or equal to 5"
    )
    assert service_rules.rule("warm-start-max-5-parents").message.split("'")[-1] in message
    sagemaker.create_hyper_parameter_tuning_job(
        **_tuning("warm", WarmStartConfig=_warm_start(*parents[:5]))
    )


def test_a_running_warm_start_parent_is_refused(sagemaker: Any) -> None:
    sagemaker.create_hyper_parameter_tuning_job(**_tuning("running-parent"))

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(
            **_tuning("warm", WarmStartConfig=_warm_start("running-parent"))
        )

    _refused_by(excinfo, "warm-start-parent-ended", name="running-parent", status="InProgress")


def test_an_unknown_warm_start_parent_is_not_found(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(
            **_tuning("warm", WarmStartConfig=_warm_start("nobody"))
        )

    # Part of "warm-start-parent-ended": the parent must exist.
    assert _error(excinfo) == ("ValidationException", "Requested resource not found.")


@pytest.mark.parametrize("status", ["Completed", "Stopped", "Failed"])
def test_warm_start_from_an_ended_parent_is_accepted(sagemaker: Any, status: str) -> None:
    # The developer guide's warm-start restrictions: parents in a terminal state (Completed,
    # Stopped, or Failed).
    _ended_parent(sagemaker, "parent", status)

    sagemaker.create_hyper_parameter_tuning_job(
        **_tuning("warm", WarmStartConfig=_warm_start("parent"))
    )


def test_a_stopped_parent_reached_through_stop_is_accepted(sagemaker: Any) -> None:
    sagemaker.create_hyper_parameter_tuning_job(**_tuning("parent"))
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="parent")
    for _ in range(2):  # Stopping is seen once, then Stopped
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="parent")

    sagemaker.create_hyper_parameter_tuning_job(
        **_tuning("warm", WarmStartConfig=_warm_start("parent"))
    )


QUOTED_WARM_START_ERROR = (
    "Only the following fields in TrainingJobDefinition are allowed to change: "
    "[algorithmSpecification, inputDataConfig, outputDataConfig, staticHyperParameters, roleArn, "
    "resourceConfig, stoppingCondition, vpcConfig, enableManagedSpotTraining, checkpointConfig]."
)


@pytest.mark.parametrize(
    "changed",
    [
        {"EnableInterContainerTrafficEncryption": True},
        {"Environment": {"MY_VAR": "1"}},
        {"EnableNetworkIsolation": True},
        {"RetryStrategy": {"MaximumRetryAttempts": 2}},
    ],
)
def test_a_warm_start_definition_that_changes_other_fields_is_refused(
    sagemaker: Any, changed: dict[str, Any]
) -> None:
    _ended_parent(sagemaker, "parent", "Stopped")
    copy_of_parent = _tuning(
        "encrypted-copy",
        TrainingJobDefinition=_definition(**changed),
        WarmStartConfig=_warm_start("parent"),
    )

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(**copy_of_parent)

    assert _refused_by(excinfo, "warm-start-definition-unchanged") == QUOTED_WARM_START_ERROR


def test_a_warm_start_definition_may_change_the_allowed_fields(sagemaker: Any) -> None:
    parent_definition = _definition(EnableNetworkIsolation=False)
    _ended_parent(sagemaker, "parent", "Completed", TrainingJobDefinition=parent_definition)
    changed = _definition(
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/new-data/"}
                },
            }
        ],
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 4, "VolumeSizeInGB": 50},
        StaticHyperParameters={"epochs": "10"},
        StoppingCondition={"MaxRuntimeInSeconds": 7200},
        EnableManagedSpotTraining=False,
        CheckpointConfig={"S3Uri": "s3://bucket/ckpt"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
    )
    # EnableNetworkIsolation absent here, false in the parent: the same thing to SageMaker.
    request = _tuning("warm", TrainingJobDefinition=changed, WarmStartConfig=_warm_start("parent"))

    sagemaker.create_hyper_parameter_tuning_job(**request)

    assert sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="warm")[
        "WarmStartConfig"
    ] == _warm_start("parent")


def test_the_guards_encrypted_copy_cannot_warm_start_from_its_original(sagemaker: Any) -> None:
    # What the guard's re-launch of a stopped tuning job looks like: the original's description
    # with the flag on, warm-starting from the original.
    sagemaker.create_hyper_parameter_tuning_job(**_tuning("original"))
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="original")
    describe = sagemaker.describe_hyper_parameter_tuning_job
    describe(HyperParameterTuningJobName="original")  # Stopping, then Stopped
    described = describe(HyperParameterTuningJobName="original")
    definition = copy.deepcopy(described["TrainingJobDefinition"])
    definition["EnableInterContainerTrafficEncryption"] = True
    copy_request = {
        "HyperParameterTuningJobName": "original-enc-1a2b3c",
        "HyperParameterTuningJobConfig": described["HyperParameterTuningJobConfig"],
        "TrainingJobDefinition": definition,
        "WarmStartConfig": _warm_start("original"),
    }

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_hyper_parameter_tuning_job(**copy_request)

    assert _refused_by(excinfo, "warm-start-definition-unchanged") == QUOTED_WARM_START_ERROR
    del copy_request["WarmStartConfig"]
    sagemaker.create_hyper_parameter_tuning_job(**copy_request)
