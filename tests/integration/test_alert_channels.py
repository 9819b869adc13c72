"""The optional alert channels end to end on the embedded AWS: the real handler, configured as
template.yaml configures it with EnableChatNotifications and EnableSecurityHubFindings, publishes
the chat card to its own topic and imports (and, once the job is fixed, archives) the job's Security
Hub finding, with BatchImportFindings only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ict_guard import findings
from ict_guard.clone import relaunch_name
from sandbox import securityhub_extension

pytestmark = pytest.mark.integration


@pytest.fixture
def channels(sandbox, configure):
    """A chat topic with a raw SQS subscription to read it, Security Hub enabled (moto with the
    sandbox's provider rules for re-imports), and a `configure` that turns both channels on."""
    securityhub_extension.install()
    session = sandbox.session
    sns, sqs = session.client("sns"), session.client("sqs")
    chat_topic = sns.create_topic(Name="ict-guard-chat")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="chat-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=chat_topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    securityhub = session.client("securityhub")
    securityhub.enable_security_hub()

    def apply(**policy: str):
        return configure(CHAT_TOPIC_ARN=chat_topic, SECURITY_HUB_FINDINGS="true", **policy)

    class Channels:
        hub = securityhub

        @staticmethod
        def chat() -> list[dict[str, Any]]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"]) for m in messages]

        @staticmethod
        def findings() -> list[dict[str, Any]]:
            return securityhub.get_findings()["Findings"]

    Channels.configure = staticmethod(apply)
    return Channels


def test_a_relaunch_is_a_chat_card_and_an_archived_finding(sandbox, channels):
    channels.configure()
    sandbox.create_training_job("train-chat")
    sandbox.deliver()

    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched" and alert["encrypted"] is False
    (card,) = channels.chat()
    assert card["version"] == "1.0" and card["source"] == "custom"
    assert card["content"]["title"].endswith(
        "Re-launched training job train-chat with encryption; the unencrypted run is stopped"
    )
    assert card["metadata"]["eventType"] == "relaunched"

    (finding,) = channels.findings()
    assert finding["Id"].endswith("/training-job/train-chat")
    assert finding["Resources"][0]["Id"] == alert["resource"]["arn"]
    assert finding["Compliance"] == {"Status": "PASSED"} and finding["RecordState"] == "ARCHIVED"
    # The workflow is the customer's: the provider cannot set it after creation.
    assert finding["Workflow"] == {"Status": "NEW"} and "Note" not in finding
    assert finding["ProductFields"]["sagemaker-ict-guard/RelaunchedAs"] == relaunch_name("train-chat")


def test_notify_mode_leaves_the_finding_open(sandbox, channels):
    channels.configure(REMEDIATION_MODE="notify")
    sandbox.create_training_job("train-open")
    sandbox.deliver()

    (finding,) = channels.findings()
    assert finding["Compliance"] == {"Status": "FAILED"} and finding["Workflow"] == {"Status": "NEW"}
    assert finding["RecordState"] == "ACTIVE" and "Note" not in finding
    assert [card["metadata"]["eventType"] for card in channels.chat()] == ["notified"]


def test_a_failure_opens_the_finding_and_the_retry_archives_it(sandbox, channels, inject):
    runtime = channels.configure()
    inject(runtime.clients.sagemaker, "CreateTrainingJob", "ServiceUnavailable", times=1)
    sandbox.create_training_job("train-retry")
    sandbox.deliver()

    assert [a["action"] for a in sandbox.alerts()] == ["failed", "relaunched"]
    cards = channels.chat()
    assert [c["metadata"]["eventType"] for c in cards] == ["failed", "relaunched"]
    assert len({c["metadata"]["threadId"] for c in cards}) == 1
    (finding,) = channels.findings()
    assert finding["RecordState"] == "ARCHIVED" and finding["Compliance"] == {"Status": "PASSED"}


def test_an_encrypted_job_whose_groups_were_repaired_makes_no_finding(sandbox, channels):
    channels.configure()
    sandbox.create_training_job("train-enc", encrypted=True, vpc=True)
    sandbox.deliver()

    assert [a["action"] for a in sandbox.alerts()] == ["security_groups_repaired"]
    assert channels.findings() == []
    assert [c["metadata"]["eventType"] for c in channels.chat()] == ["security_groups_repaired"]


def test_without_security_hub_the_remediation_still_finishes_and_the_gap_is_counted(sandbox, channels, capsys):
    channels.hub.disable_security_hub()
    channels.configure()
    sandbox.create_training_job("train-nohub")
    invocations = sandbox.deliver()

    assert invocations[0].attempts == 1 and not invocations[0].dead_lettered
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    failures = [r for r in records if findings.FAILURE_METRIC in r]
    assert failures
    # The dashboard reads the metric with this namespace and dimension.
    (directive,) = failures[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SageMakerICTGuard" and directive["Dimensions"] == [["service"]]
    assert failures[0]["service"] == "ict-guard"


def test_channels_off_by_default_change_nothing(sandbox):
    sandbox.create_training_job("train-plain")
    sandbox.deliver()
    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched"
