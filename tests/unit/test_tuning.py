from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from ict_guard.clone import build_encrypted_copy, cloneable_members, relaunch_name
from ict_guard.events import parse_job_call
from ict_guard.jobs import TUNING_API, Job, JobKind, definition_instance_count
from sandbox.shapes import example_value


def build_encrypted_tuning_clone(described, tags, model, **hints):
    return build_encrypted_copy(TUNING_API, described, tags, model, **hints).request


pytestmark = pytest.mark.unit

EVENTS = Path(__file__).resolve().parents[2] / "events"

MODEL = botocore.session.get_session().get_service_model("sagemaker")
CREATE = MODEL.operation_model("CreateHyperParameterTuningJob").input_shape
DESCRIBE = MODEL.operation_model("DescribeHyperParameterTuningJob").output_shape


def described_tuning(**overrides):
    described = example_value(DESCRIBE)
    for definition in [described["TrainingJobDefinition"], *described["TrainingJobDefinitions"]]:
        definition["AlgorithmSpecification"].pop("AlgorithmName")
        definition["EnableInterContainerTrafficEncryption"] = False
    described.update(
        HyperParameterTuningJobName="hpo-1",
        HyperParameterTuningJobArn="arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/hpo-1",
        HyperParameterTuningJobStatus="InProgress",
    )
    described.update(overrides)
    return described


def test_the_clone_of_a_fully_populated_tuning_job_is_a_valid_create_request():
    request = build_encrypted_tuning_clone(described_tuning(), {"team": "a"}, MODEL)
    report = ParamValidator().validate(request, CREATE)
    assert not report.has_errors(), report.generate_report()
    for name in cloneable_members(MODEL, "CreateHyperParameterTuningJob", "DescribeHyperParameterTuningJob"):
        assert name in request or name == "WarmStartConfig", name
    assert request["HyperParameterTuningJobName"] == relaunch_name("hpo-1", 32)
    assert request["TrainingJobDefinition"]["EnableInterContainerTrafficEncryption"] is True
    assert all(d["EnableInterContainerTrafficEncryption"] for d in request["TrainingJobDefinitions"])
    assert request["Autotune"] == described_tuning()["Autotune"]
    assert "WarmStartConfig" not in request


def test_metric_definition_hints_apply_per_definition():
    described = described_tuning()
    described.pop("TrainingJobDefinition")
    described["TrainingJobDefinitions"] = [described["TrainingJobDefinitions"][0]] * 2
    request = build_encrypted_tuning_clone(described, {}, MODEL, metric_definitions_sent=(True, False))
    first, second = request["TrainingJobDefinitions"]
    assert "MetricDefinitions" in first["AlgorithmSpecification"]
    assert "MetricDefinitions" not in second["AlgorithmSpecification"]


def test_the_copy_never_warm_starts_and_says_what_that_costs():
    # SageMaker refuses a warm start whose training definition differs from its parents' in
    # EnableInterContainerTrafficEncryption (SDK issue 3693): neither the original nor its own
    # parents (which match it) can be the encrypted copy's parents.
    described = described_tuning()
    assert described["WarmStartConfig"]["ParentHyperParameterTuningJobs"]
    copy = build_encrypted_copy(TUNING_API, described, {}, MODEL)
    assert "WarmStartConfig" not in copy.request
    assert any("starts its search over" in note and "hpo-1" in note for note in copy.notes)


def test_tuning_facts_judge_each_definition():
    described = described_tuning()
    described.pop("TrainingJobDefinition")
    enc = {
        **described["TrainingJobDefinitions"][0],
        "EnableInterContainerTrafficEncryption": True,
        "DefinitionName": "big",
        "ResourceConfig": {"InstanceCount": 8, "InstanceType": "ml.p4d.24xlarge", "VolumeSizeInGB": 1},
    }
    unenc = {
        **described["TrainingJobDefinitions"][0],
        "DefinitionName": "small",
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
    }
    described["TrainingJobDefinitions"] = [enc, unenc]
    job = Job.from_describe(TUNING_API, described, {})
    assert job.kind is JobKind.TUNING and not job.encrypted
    assert job.instance_count == 1  # only the unencrypted definition counts
    assert job.unencrypted_definitions == ("small",)
    described["TrainingJobDefinitions"] = []
    empty = Job.from_describe(TUNING_API, described, {})
    assert empty.instance_count == 0 and not empty.encrypted


def test_flexible_instance_configs_count_the_largest():
    flexible = {"InstanceConfigs": [{"InstanceCount": 1}, {"InstanceCount": 4}]}
    assert definition_instance_count({"HyperParameterTuningResourceConfig": flexible}) == 4
    assert definition_instance_count({"ResourceConfig": {"InstanceCount": 3}}) == 3


def tuning_event(request_parameters):
    event = json.loads((EVENTS / "tuning-unencrypted-vpc.json").read_text())
    event["detail"]["requestParameters"] = request_parameters
    event["detail"]["responseElements"] = {
        "hyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/hpo-1"
    }
    return event


def test_tuning_events_name_the_tuning_job_and_read_each_definition():
    call = parse_job_call(
        tuning_event(
            {
                "hyperParameterTuningJobName": "hpo-1",
                "trainingJobDefinitions": [
                    {
                        "enableInterContainerTrafficEncryption": True,
                        "algorithmSpecification": {"metricDefinitions": []},
                    },
                    {"algorithmSpecification": {"trainingImage": "x"}},
                ],
            }
        )
    )
    assert call.kind is JobKind.TUNING and call.name == "hpo-1"
    assert call.requested_encryption is None  # the second definition leaves the flag out
    assert call.metric_definitions_sent == (True, False)
    single = parse_job_call(
        tuning_event(
            {
                "hyperParameterTuningJobName": "hpo-1",
                "trainingJobDefinition": {"enableInterContainerTrafficEncryption": True},
            }
        )
    )
    assert single.requested_encryption is True


def test_tuning_names_longer_than_32_are_malformed():
    from ict_guard.events import MalformedEvent

    with pytest.raises(MalformedEvent):
        parse_job_call(tuning_event({"hyperParameterTuningJobName": "x" * 33}))
