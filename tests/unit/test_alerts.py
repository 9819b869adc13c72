from __future__ import annotations

import json

import pytest

from ict_guard.alerts import Alert, AlertAction, Severity, sns_publish_arguments

pytestmark = pytest.mark.unit

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def alert(**overrides):
    values = dict(
        action=AlertAction.RELAUNCHED,
        resource_type="training-job",
        name="train-1",
        arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
        account="123456789012",
        region="us-east-1",
        event_id="evt-1",
        reason="unencrypted distributed job; mode is relaunch",
        mode="relaunch",
        initiated_by="arn:aws:sts::123456789012:assumed-role/DataScientist/alice",
        instance_count=2,
        relaunched_as="train-1-enc-abcdef",
        security_groups=["sg-1"],
        rules_added=[{"group_id": "sg-1", "direction": "ingress", "protocol": "udp", "port": 500}],
        exempt_tag_key="ict-guard:exempt",
    )
    values.update(overrides)
    return Alert(**values)


def test_the_json_document_carries_the_contract_fields():
    document = alert().document()
    assert document["schema_version"]
    assert document["action"] == "relaunched"
    assert document["resource"] == {
        "type": "training-job",
        "name": "train-1",
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
    }
    assert document["relaunched_as"] == "train-1-enc-abcdef"
    assert document["security_groups"] == ["sg-1"]
    for key in ("account", "region", "event_id", "reason"):
        assert document[key] == getattr(alert(), key)


def test_sns_message_is_json_structured_per_protocol_with_filterable_attributes():
    arguments = sns_publish_arguments(alert(), TOPIC)
    assert arguments["MessageStructure"] == "json"
    message = json.loads(arguments["Message"])
    assert message["default"] == message["email"]
    assert "train-1-enc-abcdef" in message["email"]
    for protocol in ("sqs", "lambda", "https"):
        assert json.loads(message[protocol])["action"] == "relaunched"
    assert arguments["MessageAttributes"]["action"]["StringValue"] == "relaunched"
    assert arguments["MessageAttributes"]["severity"]["StringValue"] == "HIGH"


def test_email_text_says_what_who_what_was_done_links_and_how_to_exempt():
    text = alert().text()
    assert "train-1" in text and "alice" in text
    assert "re-launched an encrypted copy named train-1-enc-abcdef" in text
    assert "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/train-1" in text
    assert "ict-guard:exempt=true" in text
    assert "sg-1: ingress UDP 500" in text


def test_a_failure_lists_what_was_done_and_what_was_not():
    failed = alert(action=AlertAction.FAILED, steps_done=["stopped train-1"], steps_pending=["create train-1-enc-abcdef"])
    assert failed.severity is Severity.CRITICAL
    text = failed.text()
    assert "stopped train-1" in text and "create train-1-enc-abcdef" in text


def test_problems_raise_a_low_severity():
    assert alert(action=AlertAction.SECURITY_GROUPS_REPAIRED).severity is Severity.LOW
    assert alert(action=AlertAction.SECURITY_GROUPS_REPAIRED, problems=["sg-1 full"]).severity is Severity.HIGH


def test_subject_is_short_ascii():
    subject = alert(name="x" * 63, resource_type="training-job\u00e9").subject()
    assert len(subject) <= 100 and subject.isascii() and "\n" not in subject


def test_a_huge_relaunch_request_is_left_out_so_the_message_fits_sns():
    big = alert(action=AlertAction.FAILED, relaunch_request={"HyperParameters": {str(i): "v" * 200 for i in range(2000)}})
    arguments = sns_publish_arguments(big, TOPIC)
    assert len(arguments["Message"].encode()) < 256 * 1024
    assert json.loads(json.loads(arguments["Message"])["sqs"])["relaunch_request"] is None
    small = alert(action=AlertAction.FAILED, relaunch_request={"TrainingJobName": "x"})
    assert small.document()["relaunch_request"] == {"TrainingJobName": "x"}
