"""`api_call_event` builds events shaped like the ones CloudTrail delivers to EventBridge."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, StructureShape
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import cloudtrail
from sandbox.cloudtrail import api_call_event, cloudtrail_elements, lower_camel, user_identity

pytestmark = pytest.mark.sandbox

ACCOUNT = "123456789012"
ARN = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/job-1"
CALLER = user_identity(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice",
    principal_id="AROAEXAMPLEROLEID0001:alice",
    access_key_id="ASIAEXAMPLEKEY000001",
    account=ACCOUNT,
)
WHEN = datetime(2025, 3, 4, 10, 11, 12, 345000, tzinfo=UTC)
LOWER_CAMEL = re.compile(r"^[a-z0-9][A-Za-z0-9]*$")


def _event(
    model: Any, request: dict[str, Any], operation: str = "CreateTrainingJob", **kw: Any
) -> dict:
    arguments: dict[str, Any] = {
        "service_model": model,
        "operation_name": operation,
        "request_params": request,
        "account": ACCOUNT,
        "region": "eu-west-1",
        "caller": CALLER,
        "event_time": WHEN,
    }
    if "error_code" not in kw:
        arguments["response"] = {"TrainingJobArn": ARN}
    return api_call_event(**{**arguments, **kw})


def _structure_keys(value: Any, shape: Any) -> list[str]:
    """Every key that stands for a structure member, at any depth of `value` (CloudTrail form)."""
    keys: list[str] = []
    if isinstance(shape, StructureShape):
        by_key = {lower_camel(name): member for name, member in shape.members.items()}
        for key, item in value.items():
            keys.append(key)
            keys.extend(_structure_keys(item, by_key.get(key)))
    elif isinstance(shape, MapShape):
        for item in value.values():
            keys.extend(_structure_keys(item, shape.value))
    elif isinstance(shape, ListShape):
        for item in value:
            keys.extend(_structure_keys(item, shape.member))
    return keys


def test_the_envelope_is_an_eventbridge_cloudtrail_event(
    sagemaker_model: Any, job_request: Any
) -> None:
    event = _event(sagemaker_model, job_request(), user_agent="Boto3/1.0", request_id="req-1")

    assert {
        key: event[key] for key in ("version", "detail-type", "source", "account", "region")
    } == {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "region": "eu-west-1",
    }
    assert event["time"] == "2025-03-04T10:11:12Z" == event["detail"]["eventTime"]
    assert event["resources"] == []
    detail = event["detail"]
    assert {
        key: detail[key]
        for key in (
            "eventVersion",
            "eventSource",
            "eventName",
            "awsRegion",
            "userAgent",
            "requestID",
            "readOnly",
            "eventType",
            "managementEvent",
            "recipientAccountId",
            "eventCategory",
        )
    } == {
        "eventVersion": "1.09",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateTrainingJob",
        "awsRegion": "eu-west-1",
        "userAgent": "Boto3/1.0",
        "requestID": "req-1",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    assert detail["userIdentity"] == CALLER
    assert detail["responseElements"] == {"trainingJobArn": ARN}
    assert "errorCode" not in detail and "errorMessage" not in detail
    assert uuid.UUID(event["id"]).version == 4 == uuid.UUID(detail["eventID"]).version
    assert event["id"] != detail["eventID"]
    json.dumps(event)  # plain JSON all the way down


def test_event_time_is_rendered_in_utc(sagemaker_model: Any, job_request: Any) -> None:
    paris = datetime(2025, 3, 4, 11, 11, 12, tzinfo=timezone(timedelta(hours=1)))

    event = _event(sagemaker_model, job_request(), event_time=paris)

    assert event["time"] == "2025-03-04T10:11:12Z"


def test_structure_keys_become_lower_camel_and_map_keys_stay(
    sagemaker_model: Any, job_request: Any
) -> None:
    request = job_request(
        HyperParameters={"Learning-Rate": "0.1", "EPOCHS": "3"},
        Environment={"MY_VAR": "1", "CamelCase": "2"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        EnableInterContainerTrafficEncryption=False,
        Tags=[{"Key": "Team", "Value": "ML"}],
    )

    parameters = _event(sagemaker_model, request)["detail"]["requestParameters"]

    assert parameters["enableInterContainerTrafficEncryption"] is False
    assert parameters["resourceConfig"] == {
        "instanceType": "ml.m5.xlarge",
        "instanceCount": 2,
        "volumeSizeInGB": 30,
    }
    assert parameters["vpcConfig"] == {"securityGroupIds": ["sg-1"], "subnets": ["subnet-1"]}
    assert parameters["hyperParameters"] == {"Learning-Rate": "0.1", "EPOCHS": "3"}
    assert parameters["environment"] == {"MY_VAR": "1", "CamelCase": "2"}
    assert parameters["tags"] == [{"key": "Team", "value": "ML"}]
    assert parameters["outputDataConfig"] == {"s3OutputPath": "s3://bucket/output"}


def test_absent_parameters_stay_absent(sagemaker_model: Any, job_request: Any) -> None:
    parameters = _event(sagemaker_model, job_request())["detail"]["requestParameters"]

    assert "enableInterContainerTrafficEncryption" not in parameters
    assert "vpcConfig" not in parameters
    assert parameters["trainingJobName"] == "job-1"


def test_every_member_of_a_full_request_is_converted(
    sagemaker_model: Any, full_job_request: Any
) -> None:
    request = full_job_request("everything")
    input_shape = sagemaker_model.operation_model("CreateTrainingJob").input_shape

    parameters = _event(sagemaker_model, request)["detail"]["requestParameters"]

    assert set(parameters) == {lower_camel(key) for key in request}
    keys = _structure_keys(parameters, input_shape)
    assert keys and all(LOWER_CAMEL.match(key) for key in keys), keys
    assert parameters["hyperParameters"] == request["HyperParameters"]
    assert (
        parameters["debugHookConfig"]["hookParameters"]
        == request["DebugHookConfig"]["HookParameters"]
    )


_map_keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)
_user_maps = st.dictionaries(_map_keys, st.text(max_size=20), max_size=8)


@settings(max_examples=60, deadline=None)
@given(hyperparameters=_user_maps, environment=_user_maps)
def test_user_written_map_keys_survive_exactly(
    sagemaker_model: Any, job_request: Any, hyperparameters: dict, environment: dict
) -> None:
    request = job_request(HyperParameters=hyperparameters, Environment=environment)

    event = _event(sagemaker_model, request)
    parameters = json.loads(json.dumps(event))["detail"]["requestParameters"]

    assert parameters["hyperParameters"] == hyperparameters
    assert parameters["environment"] == environment
    assert request["HyperParameters"] == hyperparameters  # the caller's request is not touched


@settings(max_examples=40, deadline=None)
@given(
    flags=st.fixed_dictionaries(
        {},
        optional={
            "EnableInterContainerTrafficEncryption": st.booleans(),
            "EnableNetworkIsolation": st.booleans(),
            "EnableManagedSpotTraining": st.booleans(),
        },
    )
)
def test_booleans_stay_booleans_and_only_sent_flags_appear(
    sagemaker_model: Any, job_request: Any, flags: dict[str, bool]
) -> None:
    parameters = _event(sagemaker_model, job_request(**flags))["detail"]["requestParameters"]

    sent = {lower_camel(key): value for key, value in flags.items()}
    assert {key: parameters[key] for key in parameters if key.startswith("enable")} == sent


def test_a_failed_call_has_an_error_and_no_response_elements(
    sagemaker_model: Any, job_request: Any
) -> None:
    detail = _event(
        sagemaker_model,
        job_request(),
        error_code="ResourceInUse",
        error_message="Training job names must be unique",
    )["detail"]

    assert (detail["errorCode"], detail["errorMessage"]) == (
        "ResourceInUse",
        "Training job names must be unique",
    )
    assert detail["responseElements"] is None
    assert detail["requestParameters"]["trainingJobName"] == "job-1"


def test_a_call_that_returns_nothing_has_null_response_elements(sagemaker_model: Any) -> None:
    detail = _event(
        sagemaker_model, {"TrainingJobName": "job-1"}, operation="StopTrainingJob", response={}
    )["detail"]

    assert detail["responseElements"] is None
    assert detail["requestParameters"] == {"trainingJobName": "job-1"}


def test_a_field_too_large_for_cloudtrail_is_omitted(
    sagemaker_model: Any, job_request: Any
) -> None:
    # 100 hyperparameters of 2,500 characters: within SageMaker's limits, over CloudTrail's.
    big = {f"param_{index}": "v" * 2500 for index in range(100)}

    detail = _event(sagemaker_model, job_request(HyperParameters=big))["detail"]

    assert detail["requestParameters"] == {"omitted": True}
    assert detail["responseElements"] == {"trainingJobArn": ARN}


def test_the_size_cap_is_a_parameter(sagemaker_model: Any, job_request: Any) -> None:
    response_size = len(json.dumps({"trainingJobArn": ARN}, separators=(",", ":")))
    small = _event(sagemaker_model, job_request(), max_field_bytes=response_size)["detail"]
    assert small["requestParameters"] == {"omitted": True}
    assert small["responseElements"] == {"trainingJobArn": ARN}

    roomy = _event(sagemaker_model, job_request(), max_field_bytes=10)["detail"]
    assert roomy["responseElements"] == {"omitted": True}


def test_service_and_source_come_from_the_model() -> None:
    ec2 = cloudtrail.service_model("ec2")

    event = api_call_event(
        service_model=ec2,
        operation_name="RevokeSecurityGroupIngress",
        request_params={"GroupId": "sg-1"},
        response={"Return": True},
        account=ACCOUNT,
        region="eu-west-1",
        caller=CALLER,
        event_time=WHEN,
    )

    assert event["source"] == "aws.ec2"
    assert event["detail"]["eventSource"] == "ec2.amazonaws.com"
    assert event["detail"]["requestParameters"] == {"groupId": "sg-1"}


def test_timestamps_and_blobs_become_json_strings() -> None:
    shape = None
    value = {"When": datetime(2025, 1, 2, 3, 4, 5), "Blob": b"\x00\x01"}

    assert cloudtrail_elements(value, shape) == {"when": "2025-01-02T03:04:05Z", "blob": "AAE="}


@pytest.mark.parametrize(
    ("arn", "principal_id", "expected"),
    [
        (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice",
            "AROAEXAMPLEROLEID0001:alice",
            {
                "type": "AssumedRole",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAEXAMPLEROLEID0001",
                        "arn": f"arn:aws:iam::{ACCOUNT}:role/DataScientist",
                        "accountId": ACCOUNT,
                        "userName": "DataScientist",
                    },
                    "attributes": {"mfaAuthenticated": "false"},
                },
            },
        ),
        (
            f"arn:aws:iam::{ACCOUNT}:user/path/bob",
            "AIDAEXAMPLEUSERID0001",
            {"type": "IAMUser", "userName": "bob"},
        ),
        (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, {"type": "Root"}),
    ],
)
def test_user_identity_is_typed_from_the_arn(
    arn: str, principal_id: str, expected: dict[str, Any]
) -> None:
    identity = user_identity(
        arn=arn, principal_id=principal_id, access_key_id="AKIAEXAMPLE", account=ACCOUNT
    )

    assert identity == {
        "principalId": principal_id,
        "arn": arn,
        "accountId": ACCOUNT,
        "accessKeyId": "AKIAEXAMPLE",
        **expected,
    }
