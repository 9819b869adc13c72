from __future__ import annotations

import copy

import pytest

from ict_guard.events import FailedCall, MalformedEvent, parse_job_call
from ict_guard.jobs import JobKind

pytestmark = pytest.mark.unit


def cloudtrail_event(**detail_overrides):
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/DataScientist/alice",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/DataScientist"}},
        },
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateTrainingJob",
        "awsRegion": "us-east-1",
        "requestParameters": {
            "trainingJobName": "Train-1",
            "algorithmSpecification": {"trainingImage": "img", "trainingInputMode": "File"},
            "resourceConfig": {"instanceCount": 2},
            "enableInterContainerTrafficEncryption": False,
        },
        "responseElements": {"trainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1"},
        "eventID": "11111111-2222-3333-4444-555555555555",
    }
    detail.update(detail_overrides)
    return {
        "version": "0",
        "id": "eb-id",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_a_real_shaped_event_names_the_job():
    call = parse_job_call(cloudtrail_event())
    assert call.kind is JobKind.TRAINING
    assert call.name == "Train-1"
    assert call.arn.endswith("training-job/train-1")  # SageMaker ARNs carry the name in lower case
    assert call.event_id == "11111111-2222-3333-4444-555555555555"
    assert call.initiated_by == "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"
    assert call.requested_encryption is False
    assert call.metric_definitions_sent == (False,)


def test_flag_absent_is_none_not_false():
    event = cloudtrail_event()
    del event["detail"]["requestParameters"]["enableInterContainerTrafficEncryption"]
    assert parse_job_call(event).requested_encryption is None


def test_name_falls_back_to_the_arn_when_request_parameters_are_omitted():
    event = cloudtrail_event(requestParameters=None)
    call = parse_job_call(event)
    assert call.name == "train-1"
    assert call.metric_definitions_sent == (None,)


def test_metric_definitions_sent_is_read_from_the_request():
    event = cloudtrail_event()
    event["detail"]["requestParameters"]["algorithmSpecification"]["metricDefinitions"] = []
    assert parse_job_call(event).metric_definitions_sent == (True,)
    event["detail"]["requestParameters"]["algorithmSpecification"] = {"omitted": True}
    assert parse_job_call(event).metric_definitions_sent == (None,)


def test_a_failed_call_is_not_a_job():
    with pytest.raises(FailedCall) as raised:
        parse_job_call(cloudtrail_event(errorCode="ValidationException", responseElements=None))
    assert raised.value.error_code == "ValidationException"


def mutate(path, value):
    event = cloudtrail_event()
    node = event
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("not an event", "invalid event"),
        ({}, "invalid event"),
        (mutate(["detail"], "x"), "invalid event"),
        (mutate(["detail", "eventID"], KeyError), "detail.eventID"),
        (mutate(["source"], "aws.ec2"), "not a SageMaker event"),
        (mutate(["detail", "eventName"], "CreateModel"), "unsupported eventName"),
        (mutate(["detail", "awsRegion"], "eu-west-1"), "disagree"),
        (mutate(["detail", "requestParameters", "trainingJobName"], "bad_name"), "trainingJobName"),
        (mutate(["detail", "requestParameters", "trainingJobName"], "a" * 64), "trainingJobName"),
        (mutate(["detail", "requestParameters", "trainingJobName"], "job\u202e"), "trainingJobName"),
        (mutate(["detail", "requestParameters", "trainingJobName"], 42), "trainingJobName"),
        (mutate(["detail", "requestParameters", "trainingJobName"], "other-job"), "different jobs"),
        (
            mutate(
                ["detail", "responseElements", "trainingJobArn"],
                "arn:aws:sagemaker:us-east-1:999999999999:training-job/train-1",
            ),
            "not a training-job ARN",
        ),
        (mutate(["detail", "responseElements", "trainingJobArn"], ["x"]), "not a string"),
        (mutate(["detail", "requestParameters", "enableInterContainerTrafficEncryption"], "false"), "not a boolean"),
    ],
)
def test_malformed_events_say_why(event, reason):
    with pytest.raises(MalformedEvent) as raised:
        parse_job_call(copy.deepcopy(event))
    assert reason in raised.value.reason


def test_malformed_event_keeps_the_event_id_when_there_is_one():
    with pytest.raises(MalformedEvent) as raised:
        parse_job_call(mutate(["detail", "eventName"], "DeleteEverything"))
    assert raised.value.event_id == "11111111-2222-3333-4444-555555555555"


def test_validation_reasons_do_not_echo_input_values():
    event = mutate(["detail", "eventID"], {"secret": "hunter2"})
    with pytest.raises(MalformedEvent) as raised:
        parse_job_call(event)
    assert "hunter2" not in raised.value.reason
