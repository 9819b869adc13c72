from __future__ import annotations

import re

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from ict_guard.clone import (
    MAX_USER_TAGS,
    build_encrypted_copy,
    cloneable_members,
    filter_to_shape,
    output_only_paths,
    relaunch_name,
)
from ict_guard.jobs import TRAINING_API
from sandbox.shapes import example_value

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
    return build_encrypted_copy(TRAINING_API, described, tags or {}, MODEL, metric_definitions_sent=(sent,)).request


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
    for output_only in (
        "TrainingJobArn",
        "TrainingJobStatus",
        "SecondaryStatus",
        "CreationTime",
        "ModelArtifacts",
        "FinalMetricDataList",
        "TuningJobArn",
        "BillableTimeInSeconds",
    ):
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
    plain = clone(
        described_job(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30})
    )
    assert plain["ResourceConfig"]["InstanceCount"] == 2


METRICS = [{"Name": "validation:rmse", "Regex": ".*rmse=(\\S+)"}]


@pytest.mark.parametrize(
    ("algorithm", "sent", "kept"),
    [
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/mine:1"}, True, True),
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/mine:1"}, None, True),
        # Filled in by SageMaker for a built-in algorithm: the caller did not send them.
        ({"TrainingImage": "acct.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"}, False, False),
        # No hint (the sweep, a tuning job's child, a resume): SageMaker's own registries say it.
        ({"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}, None, False),
        ({"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"}, None, False),
        ({"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"}, None, False),
        # The same repository name in the customer's own account is the customer's image.
        ({"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"}, None, True),
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


def test_output_only_members_are_found_by_their_documentation_as_a_class():
    # The model documents these as "read-only and isn't accepted in CreateTrainingJob requests";
    # a member SageMaker adds with the same sentence joins the list by itself.
    assert set(output_only_paths(CREATE)) >= {
        "ResourceConfig.SelectedInstanceType",
        "ResourceConfig.SelectedInstanceCount",
    }


def test_selected_instance_fields_never_reach_the_copy():
    described = described_job(
        ResourceConfig={
            "InstancePreferences": [
                {"InstanceType": "ml.p5.48xlarge", "InstanceCount": 2},
                {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
            ],
            "InstanceCount": 2,
            "InstanceType": "ml.p5.48xlarge",
            "SelectedInstanceType": "ml.p5.48xlarge",
            "SelectedInstanceCount": 2,
            "VolumeSizeInGB": 30,
        }
    )
    resource = clone(described)["ResourceConfig"]
    assert "SelectedInstanceType" not in resource and "SelectedInstanceCount" not in resource
    # InstancePreferences excludes InstanceType (API reference, ResourceConfig).
    assert "InstanceType" not in resource and len(resource["InstancePreferences"]) == 2


def test_fifty_user_tags_leave_no_room_for_the_link_which_the_copy_then_does_without():
    tags = {f"k{i}": "v" for i in range(MAX_USER_TAGS)} | {"aws:cloudformation:stack-name": "s"}
    copy = build_encrypted_copy(TRAINING_API, described_job(), tags, MODEL)
    keys = [t["Key"] for t in copy.request["Tags"]]
    assert len(keys) == MAX_USER_TAGS and "ict-guard:relaunched-from" not in keys
    assert keys == [f"k{i}" for i in range(MAX_USER_TAGS)]  # the user's own tags come first
    assert not copy.linked_by_tag and any("ledger" in note for note in copy.notes)
    roomy = build_encrypted_copy(TRAINING_API, described_job(), {f"k{i}": "v" for i in range(49)}, MODEL)
    assert roomy.linked_by_tag and roomy.request["Tags"][-1]["Key"] == "ict-guard:relaunched-from"
