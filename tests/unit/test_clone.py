from __future__ import annotations

import re

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from sandbox.shapes import example_value
from ict_guard.clone import (
    build_encrypted_training_clone,
    cloneable_members,
    filter_to_shape,
    relaunch_name,
)

pytestmark = pytest.mark.unit

MODEL = botocore.session.get_session().get_service_model("sagemaker")
CREATE = MODEL.operation_model("CreateTrainingJob").input_shape
DESCRIBE = MODEL.operation_model("DescribeTrainingJob").output_shape
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def described_job(**overrides):
    described = example_value(DESCRIBE)
    described.update(
        TrainingJobName="train-1",
        TrainingJobArn="arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
        TrainingJobStatus="InProgress",
        EnableInterContainerTrafficEncryption=False,
    )
    # AlgorithmName and TrainingImage exclude each other; jobs have one of them.
    described["AlgorithmSpecification"].pop("AlgorithmName")
    described.update(overrides)
    return described


def clone(described, tags=None, sent=True):
    return build_encrypted_training_clone(
        described, tags or {}, MODEL, metric_definitions_sent=(sent,)
    )


def test_the_clone_of_a_fully_populated_description_is_a_valid_create_request():
    request = clone(described_job())
    report = ParamValidator().validate(request, CREATE)
    assert not report.has_errors(), report.generate_report()


def test_every_field_create_takes_and_describe_returns_is_carried_over():
    described = described_job()
    request = clone(described)
    changed_by_rule = {"TrainingJobName", "EnableInterContainerTrafficEncryption", "ResourceConfig"}
    for name in cloneable_members(MODEL, "CreateTrainingJob", "DescribeTrainingJob"):
        assert name in request, name
        if name not in changed_by_rule:
            assert request[name] == filter_to_shape(described[name], CREATE.members[name]), name
    # Fields the sandbox never sets, copied because the model says so.
    for name in ("InfraCheckConfig", "RemoteDebugConfig", "RetryStrategy", "Environment"):
        assert request[name] == described[name]


def test_output_only_fields_and_unknown_nested_members_are_dropped():
    described = described_job()
    described["AlgorithmSpecification"]["SomethingOnlyDescribeSays"] = "x"
    request = clone(described)
    for output_only in ("TrainingJobArn", "TrainingJobStatus", "SecondaryStatus", "CreationTime",
                        "ModelArtifacts", "FinalMetricDataList", "TuningJobArn", "BillableTimeInSeconds"):
        assert output_only not in request
    assert "SomethingOnlyDescribeSays" not in request["AlgorithmSpecification"]


def test_encryption_is_on_and_the_name_is_the_deterministic_relaunch_name():
    request = clone(described_job())
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["TrainingJobName"] == relaunch_name("train-1")


def test_tags_come_from_list_tags_without_reserved_or_guard_keys_plus_the_origin():
    tags = {
        "team": "vision",
        "aws:cloudformation:stack-name": "s",
        "ict-guard:remediation": "relaunch-pending",
        "ict-guard:exempt": "false",
    }
    assert clone(described_job(), tags)["Tags"] == [
        {"Key": "team", "Value": "vision"},
        {"Key": "ict-guard:relaunched-from", "Value": "train-1"},
    ]


def test_instance_groups_exclude_instance_type_and_count():
    described = described_job(
        ResourceConfig={
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 3,
            "VolumeSizeInGB": 30,
            "InstanceGroups": [
                {"InstanceGroupName": "a", "InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                {"InstanceGroupName": "b", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 2},
            ],
        }
    )
    resource = clone(described)["ResourceConfig"]
    assert "InstanceType" not in resource and "InstanceCount" not in resource
    assert len(resource["InstanceGroups"]) == 2 and resource["VolumeSizeInGB"] == 30
    plain = clone(described_job(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30}))
    assert plain["ResourceConfig"]["InstanceCount"] == 2


METRICS = [{"Name": "validation:rmse", "Regex": ".*rmse=(\\S+)"}]


@pytest.mark.parametrize(
    ("algorithm", "sent", "kept"),
    [
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/mine:1"}, True, True),
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/mine:1"}, None, True),
        # Filled in by SageMaker for a built-in algorithm: the caller did not send them.
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}, False, False),
        # Algorithm resources define their metrics themselves.
        ({"AlgorithmName": "my-algorithm"}, True, False),
        ({"AlgorithmName": "my-algorithm"}, None, False),
    ],
)
def test_metric_definitions_only_when_create_accepts_them(algorithm, sent, kept):
    spec = {**algorithm, "TrainingInputMode": "File", "MetricDefinitions": METRICS}
    request = clone(described_job(AlgorithmSpecification=spec), sent=sent)
    assert ("MetricDefinitions" in request["AlgorithmSpecification"]) is kept


def test_empty_containers_are_dropped_rather_than_sent():
    request = clone(described_job(HyperParameters={}, DebugRuleConfigurations=[], Environment={}))
    assert "HyperParameters" not in request
    assert "DebugRuleConfigurations" not in request
    assert "Environment" not in request


names = st.from_regex(NAME_PATTERN, fullmatch=True)


@given(names)
def test_relaunch_names_are_valid_deterministic_and_fit_the_limit(original):
    name = relaunch_name(original)
    assert NAME_PATTERN.match(name) and len(name) <= 63
    assert name == relaunch_name(original)
    assert name != original


@given(names, names)
def test_different_originals_get_different_names(a, b):
    if a != b:
        assert relaunch_name(a) != relaunch_name(b)


def test_a_63_character_original_keeps_a_readable_prefix():
    original = "a" * 30 + "-" * 3 + "b" * 30
    name = relaunch_name(original)
    assert len(name) == 63 and name.startswith("a" * 30) and NAME_PATTERN.match(name)


@given(names, st.integers(min_value=12, max_value=63))
def test_shorter_limits_for_other_kinds_of_job(original, limit):
    name = relaunch_name(original, limit)
    assert len(name) <= limit and NAME_PATTERN.match(name)
