"""The chat view of an alert: an AWS Chatbot (Amazon Q Developer in chat applications) custom
notification, published to its own topic next to the alert topic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_alerts import alert

from ict_guard.alerts import AlertAction
from ict_guard.chat import chat_notification, chat_publish_arguments
from ict_guard.publishing import AlertPublisher

pytestmark = pytest.mark.unit

ALERTS = "arn:aws:sns:us-east-1:123456789012:alerts"
CHAT = "arn:aws:sns:us-east-1:123456789012:chat"
EVENT_ID = "afe01087-0b66-4bd3-875c-9422c1267cd3"

# The event schema of https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
TOP_LEVEL = {"version", "source", "id", "content", "metadata"}
CONTENT = {"textType", "title", "description", "nextSteps", "keywords"}
METADATA = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}


@pytest.mark.parametrize("action", list(AlertAction))
def test_every_alert_is_a_valid_custom_notification(action):
    notification = chat_notification(alert(action=action, event_id=EVENT_ID))
    assert set(notification) <= TOP_LEVEL
    assert notification["version"] == "1.0" and notification["source"] == "custom"
    assert set(notification["content"]) <= CONTENT
    assert set(notification["metadata"]) <= METADATA
    content, metadata = notification["content"], notification["metadata"]
    assert content["textType"] == "client-markdown"
    for key in ("title", "description"):
        assert isinstance(content[key], str) and content[key].strip()
    for key in ("nextSteps", "keywords"):
        assert content[key] and all(isinstance(item, str) and item for item in content[key])
    assert all(isinstance(v, str) for v in metadata["additionalContext"].values())
    assert all(isinstance(v, str) for v in metadata["relatedResources"])
    json.dumps(notification)  # a document SNS can carry as it is


def test_the_card_says_what_who_and_where_to_click():
    notification = chat_notification(alert(event_id=EVENT_ID))
    content = notification["content"]
    assert content["title"] == (
        ":warning: Re-launched training job train-1 with encryption; the unencrypted run is stopped"
    )
    assert "*Started by:* alice (role DataScientist" in content["description"]
    did = "*Guard did:* stopped it and re-launched an encrypted copy named train-1-enc-abcdef."
    assert did in content["description"]
    steps = content["nextSteps"]
    assert steps[0].startswith("nothing for this job")
    assert "Job: https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/train-1" in steps
    assert any(step.startswith("CloudTrail event: https://") for step in steps)
    assert steps[-1] == "Exempt a job: tag it ict-guard:exempt=true when you create it"
    assert content["keywords"] == ["HIGH", "relaunched", "training job", "123456789012", "us-east-1"]
    assert notification["metadata"]["relatedResources"] == [
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1"
    ]


def test_a_failure_and_the_retry_that_finished_it_share_a_thread():
    failed = chat_notification(alert(action=AlertAction.FAILED, name="Train-1", steps_pending=["create x"]))
    relaunched = chat_notification(alert(action=AlertAction.RELAUNCHED))
    assert failed["metadata"]["threadId"] == relaunched["metadata"]["threadId"]
    assert failed["content"]["title"].startswith(":rotating_light: REMEDIATION FAILED")
    assert "*Not done yet:* create x" in failed["content"]["description"]
    other = chat_notification(alert(name="train-2"))
    assert other["metadata"]["threadId"] != relaunched["metadata"]["threadId"]


def test_a_huge_alert_still_makes_a_short_card():
    big = alert(action=AlertAction.FAILED, problems=[f"sg-{i} is at its rule quota" for i in range(2000)])
    description = chat_notification(big)["content"]["description"]
    assert len(description) <= 3_500 and description.endswith("\u2026")


def test_the_chat_topic_gets_the_notification_alone_with_filterable_attributes():
    arguments = chat_publish_arguments(alert(), CHAT)
    assert arguments["TopicArn"] == CHAT
    assert "MessageStructure" not in arguments  # Chatbot reads the message itself
    assert json.loads(arguments["Message"])["source"] == "custom"
    assert arguments["MessageAttributes"]["action"]["StringValue"] == "relaunched"
    assert arguments["MessageAttributes"]["severity"]["StringValue"] == "HIGH"


class FakeSns:
    def __init__(self, fail_on: str | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail_on = fail_on

    def publish(self, **kwargs: Any) -> dict[str, str]:
        if kwargs["TopicArn"] == self.fail_on:
            raise ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Publish")
        self.published.append(kwargs)
        return {"MessageId": f"m-{len(self.published)}"}


class FakeMetrics:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.names.append(name)


class FakeLogger:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def exception(self, message: str, **_: Any) -> None:
        self.errors.append(message)


def test_without_a_chat_topic_only_the_alert_topic_is_published():
    sns = FakeSns()
    assert AlertPublisher(sns, ALERTS).publish(alert()) == "m-1"
    assert [p["TopicArn"] for p in sns.published] == [ALERTS]


def test_with_a_chat_topic_both_are_published_alert_first():
    sns = FakeSns()
    message_id = AlertPublisher(sns, ALERTS, chat_topic_arn=CHAT).publish(alert())
    assert message_id == "m-1"
    assert [p["TopicArn"] for p in sns.published] == [ALERTS, CHAT]
    assert sns.published[0]["MessageStructure"] == "json"


def test_a_chat_failure_is_logged_and_counted_never_raised():
    sns, metrics, logger = FakeSns(fail_on=CHAT), FakeMetrics(), FakeLogger()
    publisher = AlertPublisher(sns, ALERTS, chat_topic_arn=CHAT, logger=logger, metrics=metrics)
    assert publisher.publish(alert()) == "m-1"
    assert metrics.names == ["ChatDeliveryFailures"] and logger.errors


def test_an_alert_topic_failure_is_raised_and_nothing_goes_to_chat():
    sns = FakeSns(fail_on=ALERTS)
    with pytest.raises(ClientError):
        AlertPublisher(sns, ALERTS, chat_topic_arn=CHAT).publish(alert())
    assert sns.published == []
