"""SageMaker calls made to the embedded AWS reach EventBridge rules as CloudTrail events."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.responses import BaseResponse

from sandbox import cloudtrail

pytestmark = pytest.mark.sandbox

CREATE_PATTERN = {"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateTrainingJob"]}}


def test_the_emitted_operations_are_declared_in_one_place() -> None:
    assert ("sagemaker", "CreateTrainingJob") in cloudtrail.EMITTED_OPERATIONS
    assert ("sagemaker", "StopTrainingJob") in cloudtrail.EMITTED_OPERATIONS


def test_install_wraps_moto_once(aws: None) -> None:
    cloudtrail.install()
    wrapped = BaseResponse.call_action

    cloudtrail.install()

    assert BaseResponse.call_action is wrapped


def test_a_rule_receives_the_create_call(
    sagemaker: Any, job_request: Any, event_tap: Any, account: str, region: str
) -> None:
    received = event_tap(CREATE_PATTERN)
    request = job_request(
        "evented",
        HyperParameters={"Learning-Rate": "0.1"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        EnableInterContainerTrafficEncryption=False,
    )

    arn = sagemaker.create_training_job(**request)["TrainingJobArn"]

    [event] = received()
    assert (event["source"], event["detail-type"]) == (
        "aws.sagemaker",
        "AWS API Call via CloudTrail",
    )
    assert (event["account"], event["region"]) == (account, region)
    detail = event["detail"]
    assert detail["eventName"] == "CreateTrainingJob"
    assert detail["responseElements"] == {"trainingJobArn": arn}
    parameters = detail["requestParameters"]
    assert parameters["trainingJobName"] == "evented"
    assert parameters["enableInterContainerTrafficEncryption"] is False
    assert parameters["vpcConfig"]["securityGroupIds"] == ["sg-1"]
    assert parameters["resourceConfig"]["instanceCount"] == 2
    assert parameters["hyperParameters"] == {"Learning-Rate": "0.1"}
    assert detail["userIdentity"]["accountId"] == account
    assert "errorCode" not in detail


def test_a_failed_create_is_delivered_with_its_error_code(
    sagemaker: Any, job_request: Any, event_tap: Any
) -> None:
    sagemaker.create_training_job(**job_request("twice"))
    received = event_tap(CREATE_PATTERN)

    with pytest.raises(ClientError):
        sagemaker.create_training_job(**job_request("twice"))

    [event] = received()
    assert event["detail"]["errorCode"] == "ResourceInUse"
    assert "already exists" in event["detail"]["errorMessage"]
    assert event["detail"]["responseElements"] is None
    assert event["detail"]["requestParameters"]["trainingJobName"] == "twice"


def test_stop_calls_are_delivered_and_reads_are_not(
    sagemaker: Any, job_request: Any, event_tap: Any
) -> None:
    sagemaker.create_training_job(**job_request("stopped"))
    received = event_tap({"source": ["aws.sagemaker"]})

    sagemaker.describe_training_job(TrainingJobName="stopped")
    sagemaker.stop_training_job(TrainingJobName="stopped")
    with pytest.raises(ClientError):
        sagemaker.stop_training_job(TrainingJobName="stopped")

    events = received()
    assert [e["detail"]["eventName"] for e in events] == ["StopTrainingJob", "StopTrainingJob"]
    assert [e["detail"].get("errorCode") for e in events] == [None, "ValidationException"]
    assert all(e["detail"]["responseElements"] is None for e in events)
    assert events[0]["detail"]["requestParameters"] == {"trainingJobName": "stopped"}


def test_the_designs_content_filter_matches_false_or_absent_only(
    sagemaker: Any, job_request: Any, event_tap: Any
) -> None:
    received = event_tap(
        {
            "source": ["aws.sagemaker"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventName": ["CreateTrainingJob"],
                "errorCode": [{"exists": False}],
                "requestParameters": {
                    "enableInterContainerTrafficEncryption": [False, {"exists": False}]
                },
            },
        }
    )

    sagemaker.create_training_job(**job_request("absent"))
    sagemaker.create_training_job(
        **job_request("false", EnableInterContainerTrafficEncryption=False)
    )
    sagemaker.create_training_job(**job_request("true", EnableInterContainerTrafficEncryption=True))
    with pytest.raises(ClientError):
        sagemaker.create_training_job(**job_request("absent"))

    names = [e["detail"]["requestParameters"]["trainingJobName"] for e in received()]
    assert names == ["absent", "false"]


def test_a_disabled_rule_receives_nothing(
    sagemaker: Any, job_request: Any, event_tap: Any, client: Any
) -> None:
    received = event_tap(CREATE_PATTERN, name="off")
    client("events").disable_rule(Name="off")

    sagemaker.create_training_job(**job_request("quiet"))

    assert received() == []


def test_the_caller_is_the_principal_that_signed_the_request(
    aws: None, job_request: Any, event_tap: Any, client: Any, account: str, region: str
) -> None:
    iam = client("iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    role_arn = iam.create_role(RoleName="Trainer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    session = client("sts").assume_role(RoleArn=role_arn, RoleSessionName="pipeline")
    credentials = session["Credentials"]
    received = event_tap(CREATE_PATTERN)

    as_carol = boto3.client(
        "sagemaker",
        region_name=region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    as_role = boto3.client(
        "sagemaker",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    as_carol.create_training_job(**job_request("by-carol"))
    as_role.create_training_job(**job_request("by-role"))

    carol, role = (e["detail"]["userIdentity"] for e in received())
    assert (carol["type"], carol["userName"]) == ("IAMUser", "carol")
    assert carol["arn"] == f"arn:aws:iam::{account}:user/carol"
    assert carol["accessKeyId"] == key["AccessKeyId"]
    assert role["type"] == "AssumedRole"
    assert role["arn"] == f"arn:aws:sts::{account}:assumed-role/Trainer/pipeline"
    assert role["sessionContext"]["sessionIssuer"]["arn"] == role_arn
    assert role["principalId"].endswith(":pipeline")
