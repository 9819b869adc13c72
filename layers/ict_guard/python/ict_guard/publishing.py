"""Publishing alerts: the alert topic's per-protocol message, and the chat card on the optional
chat topic."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ict_guard.alerts import Alert
from ict_guard.chat import chat_publish_arguments

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_sns import SNSClient


def sns_publish_arguments(alert: Alert, topic_arn: str) -> dict[str, Any]:
    text = alert.text()
    document = json.dumps(alert.document(), default=str, sort_keys=True)
    message = {
        "default": text,
        "email": text,
        "email-json": document,
        "sqs": document,
        "lambda": document,
        "http": document,
        "https": document,
        "firehose": document,
    }
    return {
        "TopicArn": topic_arn,
        "Subject": alert.subject(),
        "MessageStructure": "json",
        "Message": json.dumps(message),
        "MessageAttributes": {
            "action": {"DataType": "String", "StringValue": alert.action.value},
            "severity": {"DataType": "String", "StringValue": alert.severity.value},
        },
    }


class AlertPublisher:
    """Publishes each alert to the alert topic and, when one is configured, to the chat topic.

    The alert topic is the record: a failure there is raised (Lambda retries). The chat topic is a
    second view of the same alert: a failure there is logged and counted (`ChatDeliveryFailures`)
    but never undoes or repeats a remediation that has otherwise finished.
    """

    def __init__(
        self,
        sns: SNSClient,
        topic_arn: str,
        *,
        chat_topic_arn: str | None = None,
        logger: Logger | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._chat_topic_arn = chat_topic_arn
        self._logger = logger
        self._metrics = metrics

    def publish(self, alert: Alert) -> str:
        message_id = self._sns.publish(**sns_publish_arguments(alert, self._topic_arn))["MessageId"]
        if self._chat_topic_arn:
            self._publish_chat(alert, self._chat_topic_arn)
        return message_id

    def _publish_chat(self, alert: Alert, topic_arn: str) -> None:
        try:
            self._sns.publish(**chat_publish_arguments(alert, topic_arn))
        except (ClientError, BotoCoreError):
            if self._logger is not None:
                self._logger.exception(
                    "could not publish the chat notification", extra={"alert_action": alert.action.value}
                )
            if self._metrics is not None:
                self._metrics.add_metric(name="ChatDeliveryFailures", unit=MetricUnit.Count, value=1)
