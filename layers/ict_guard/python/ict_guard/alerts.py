"""Alerts: one SNS message per outcome, readable text for people and one JSON document for
machines (the alert schema of DESIGN.md), with `action` and `severity` message attributes for
subscription filter policies; optionally the same alert as an AWS Chatbot (Amazon Q Developer in
chat applications) custom notification on a second topic, so that Slack and Teams render a card."""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ict_guard.jobs import MANAGED_TAG

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_sns import SNSClient

SCHEMA_VERSION = "1.0"
# SNS takes at most 256 KiB per message, and the JSON document is sent once per protocol.
_MAX_DOCUMENT_BYTES = 60_000


class AlertAction(enum.StrEnum):
    STOPPED = "stopped"
    RELAUNCHED = "relaunched"
    NOTIFIED = "notified"
    SECURITY_GROUPS_REPAIRED = "security_groups_repaired"
    SECURITY_GROUPS_RESTORED = "security_groups_restored"
    FAILED = "failed"


class Severity(enum.StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


_BASE_SEVERITY = {
    AlertAction.FAILED: Severity.CRITICAL,
    AlertAction.STOPPED: Severity.HIGH,
    AlertAction.RELAUNCHED: Severity.HIGH,
    AlertAction.NOTIFIED: Severity.MEDIUM,
    AlertAction.SECURITY_GROUPS_REPAIRED: Severity.LOW,
    # Somebody removed what encrypted jobs need: restored, but worth a look (an IaC tool or a
    # compliance rule that keeps removing it will keep being undone).
    AlertAction.SECURITY_GROUPS_RESTORED: Severity.MEDIUM,
}

# The resource of the security-group guard's alerts (the job guard's are SageMaker jobs).
SECURITY_GROUP = "security-group"

_KIND_LABEL = {
    "training-job": "training job",
    "hyper-parameter-tuning-job": "hyperparameter tuning job",
    SECURITY_GROUP: "security group",
}
# CloudTrail event IDs are UUIDs; the sweeper's references ("sweep:...") are not events.
_CLOUDTRAIL_EVENT_ID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def kind_label(resource_type: str) -> str:
    return _KIND_LABEL.get(resource_type, resource_type)


def initiator_label(initiated_by: str | None) -> str:
    """Who started it, as a person reads it: the session or user name first, the ARN after.

    arn:aws:sts::1:assumed-role/DataScientist/alice -> "alice (role DataScientist, arn:...)".
    """
    if not initiated_by:
        return "unknown (not recorded in the event)"
    resource = initiated_by.split(":", 5)[-1] if initiated_by.startswith("arn:") else ""
    parts = resource.split("/")
    if parts[0] == "assumed-role" and len(parts) >= 3:
        return f"{parts[-1]} (role {parts[1]}, {initiated_by})"
    if parts[0] == "user" and len(parts) >= 2:
        return f"{parts[-1]} (IAM user, {initiated_by})"
    if resource == "root":
        return f"the account root user ({initiated_by})"
    return initiated_by


def cloudtrail_event_url(region: str, event_id: str | None) -> str | None:
    if not event_id or not _CLOUDTRAIL_EVENT_ID.match(event_id):
        return None
    return f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{event_id}"


def console_url(region: str, resource_type: str, name: str) -> str:
    if resource_type == SECURITY_GROUP:
        ec2 = f"https://{region}.console.aws.amazon.com/ec2/home?region={region}"
        return f"{ec2}#SecurityGroup:groupId={name}"
    section = {"hyper-parameter-tuning-job": "hyper-tuning-jobs"}.get(resource_type, "jobs")
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{section}/{name}"


@dataclass
class Alert:
    action: AlertAction
    resource_type: str
    name: str
    arn: str | None
    account: str
    region: str
    event_id: str | None
    reason: str
    mode: str
    initiated_by: str | None = None
    # Shown instead of a caller when the guard knows the change was not this event's caller's
    # (security-group guard); the CloudTrail link is left out too: it would point at that call.
    initiator_note: str | None = None
    instance_count: int | None = None
    relaunched_as: str | None = None
    security_groups: list[str] = field(default_factory=list)
    rules_added: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps_done: list[str] = field(default_factory=list)
    steps_pending: list[str] = field(default_factory=list)
    relaunch_request: dict[str, Any] | None = None
    # Where the durable copy of relaunch_request is (the ledger item), for when it is too large.
    relaunch_request_location: str | None = None
    exempt_tag_key: str | None = None
    # Whether the job has inter-container traffic encryption on (None: not a job, or unknown);
    # Security Hub findings are only about jobs that do not.
    encrypted: bool | None = None

    @property
    def severity(self) -> Severity:
        base = _BASE_SEVERITY[self.action]
        if self.problems and base in (Severity.MEDIUM, Severity.LOW):
            return Severity.HIGH
        return base

    def document(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("name", "arn", "resource_type", "exempt_tag_key"):
            doc.pop(key)
        doc.update(
            schema_version=SCHEMA_VERSION,
            action=self.action.value,
            severity=self.severity.value,
            resource={"type": self.resource_type, "name": self.name, "arn": self.arn},
            console_url=console_url(self.region, self.resource_type, self.name),
            timestamp=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        if len(json.dumps(doc, default=str)) > _MAX_DOCUMENT_BYTES:
            doc["relaunch_request"] = None
            where = f"; the full request is in {self.relaunch_request_location}" if self.relaunch_request_location else ""
            doc["problems"] = [*self.problems, f"relaunch_request left out: too large for SNS{where}"]
        return doc

    def headline(self) -> str:
        """The first line: what the guard did, to which resource."""
        return _HEADLINE[self.action].format(what=f"{kind_label(self.resource_type)} {self.name}")

    def subject(self) -> str:
        text = f"[ict-guard] {self.headline()}"
        return text.encode("ascii", "replace").decode()[:100]

    def next_step(self) -> str:
        """What the reader should do now, if anything."""
        if self.resource_type == SECURITY_GROUP:
            if self.action is AlertAction.FAILED:
                return (
                    f"add the self-referencing IPsec rules (UDP 500 and IP protocol 50, in and out) "
                    f"to {self.name} by hand; encrypted jobs using it cannot communicate until then."
                )
            return (
                "nothing urgent; if the rules keep disappearing, find the tool that removes them "
                "(infrastructure as code drift, a compliance rule)."
            )
        flag = "EnableInterContainerTrafficEncryption=True (SageMaker Python SDK: encrypt_inter_container_traffic=True)"
        match self.action:
            case AlertAction.RELAUNCHED:
                return f"nothing for this job: the encrypted copy carries on. Start the next one with {flag}."
            case AlertAction.STOPPED:
                return f"start the job again with {flag}."
            case AlertAction.SECURITY_GROUPS_REPAIRED:
                return "nothing; the job keeps running."
            case AlertAction.FAILED:
                return (
                    "Lambda retries the remediation by itself; if the dead-letter-queue alarm "
                    "fires, finish the steps listed under 'Not done yet' by hand."
                )
        return f"stop the job and start it again with {flag}, or exempt it if it is meant to run unencrypted."

    def text(self) -> str:
        """E-mail text that reads in five seconds: the first line says what was done to which
        job, the next lines who started it, what the guard did, and what is left to do."""
        lines = [
            self.headline(),
            "",
            self._who_label().ljust(13) + (self.initiator_note or initiator_label(self.initiated_by)),
            "What:        " + self.what_happened(),
            "Guard did:   " + self.what_was_done(),
            "Next step:   " + self.next_step(),
            "Why:         " + self.reason,
        ]
        if self.rules_added:
            lines.append("Security-group rules added (self-referencing):")
            lines += [
                f"  - {r['group_id']}: {r['direction']} "
                + ("UDP 500" if r["protocol"] == "udp" else "ESP (IP protocol 50)")
                for r in self.rules_added
            ]
        if self.problems:
            lines.append("Needs attention:")
            lines += [f"  - {p}" for p in self.problems]
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {n}" for n in self.notes]
        if self.steps_pending:
            lines.append("Not done yet (a retry or a person must finish):")
            lines += [f"  - {s}" for s in self.steps_pending]
        lines += ["", "Links:"]
        lines += [f"  {label}: {url}" for label, url in self.links()]
        lines += ["", f"Account {self.account}, region {self.region}, event {self.event_id}, mode {self.mode}."]
        if self.exempt_tag_key and self.resource_type != SECURITY_GROUP:
            lines.append(
                f"To exempt a job (alerted on, never stopped or re-launched), tag it "
                f"{self.exempt_tag_key}=true when you create it."
            )
        if self.resource_type == SECURITY_GROUP:
            lines.append(
                "To release the group (the guard stops restoring its rules), remove its tag "
                f"{MANAGED_TAG}."
            )
        return "\n".join(lines)

    def _who_label(self) -> str:
        # The job guard's alerts are about who started a job, the security-group guard's about
        # who changed a group.
        return "Changed by:" if self.resource_type == SECURITY_GROUP else "Started by:"

    def links(self) -> list[tuple[str, str]]:
        """Console links: the resource, the re-launched copy, the CloudTrail event."""
        label = "Security group" if self.resource_type == SECURITY_GROUP else "Job"
        links = [(label, console_url(self.region, self.resource_type, self.name))]
        if self.relaunched_as:
            links.append(("Re-launch", console_url(self.region, self.resource_type, self.relaunched_as)))
        event_url = cloudtrail_event_url(self.region, self.event_id)
        if event_url and not self.initiator_note:
            links.append(("CloudTrail event", event_url))
        return links

    def what_happened(self) -> str:
        # Who started it has a line of its own; this says what is wrong with what.
        what = f"{kind_label(self.resource_type)} {self.name}"
        count = f" on {self.instance_count} instances" if self.instance_count else ""
        if self.resource_type == SECURITY_GROUP:
            return (
                f"IPsec rules that encrypted jobs need were removed from or changed on {self.name}; "
                f"the group carries {MANAGED_TAG}=true, so the guard keeps them."
            )
        if self.action is AlertAction.SECURITY_GROUPS_REPAIRED or self.encrypted:
            return (
                f"{what} runs{count} with encryption on, but its security groups did not allow "
                "the IPsec traffic (UDP 500, IP protocol 50) that encryption needs."
            )
        return f"{what} was started{count} without inter-container traffic encryption."

    def what_was_done(self) -> str:
        match self.action:
            case AlertAction.RELAUNCHED:
                return f"stopped it and re-launched an encrypted copy named {self.relaunched_as}."
            case AlertAction.STOPPED:
                return "stopped it (remediation mode: stop)."
            case AlertAction.SECURITY_GROUPS_REPAIRED:
                return f"added the missing IPsec rules to {', '.join(self.security_groups)}."
            case AlertAction.SECURITY_GROUPS_RESTORED:
                return f"re-added the missing self-referencing IPsec rules to {self.name}."
            case AlertAction.FAILED:
                done = "; ".join(self.steps_done) or "nothing"
                return f"remediation did not finish. Done so far: {done}."
        return "nothing (alert only)."


# The first line of the e-mail and the chat card: the action, then the resource ({what}).
_HEADLINE = {
    AlertAction.STOPPED: "Stopped {what}: it ran without inter-container traffic encryption",
    AlertAction.RELAUNCHED: "Re-launched {what} with encryption; the unencrypted run is stopped",
    AlertAction.NOTIFIED: "Found {what} without inter-container traffic encryption (alert only)",
    AlertAction.SECURITY_GROUPS_REPAIRED: "Added the IPsec rules {what} needs to its security groups",
    AlertAction.SECURITY_GROUPS_RESTORED: "Restored the IPsec rules on {what}",
    AlertAction.FAILED: "REMEDIATION FAILED for {what}",
}


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


# AWS Chatbot / Amazon Q Developer in chat applications custom notifications: the event schema
# of https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("version" must be
# "1.0", "source" must be "custom"; only textType "client-markdown" is supported, rendered in
# the chat platform's own markdown). Chatbot drops SNS messages that are not in a format it
# knows, so the chat topic gets this document alone, not the alert topic's per-protocol message.
CHAT_NOTIFICATION_VERSION = "1.0"
_CHAT_DESCRIPTION_CHARS = 3_500  # a Slack message block holds 3,000 characters of text plus links
_CHAT_ICON = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":warning:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":information_source:",
}


def chat_notification(alert: Alert) -> dict[str, Any]:
    """The alert as a Chatbot custom notification: a card with a title, the facts, next steps."""
    facts = [
        f"*{alert._who_label()}* {alert.initiator_note or initiator_label(alert.initiated_by)}",
        f"*What:* {alert.what_happened()}",
        f"*Guard did:* {alert.what_was_done()}",
        f"*Why:* {alert.reason}",
    ]
    facts += [f"*Needs attention:* {problem}" for problem in alert.problems]
    facts += [f"*Not done yet:* {step}" for step in alert.steps_pending]
    facts += [f"*Note:* {note}" for note in alert.notes]
    description = "\n".join(facts)
    if len(description) > _CHAT_DESCRIPTION_CHARS:
        description = description[: _CHAT_DESCRIPTION_CHARS - 1] + "\u2026"
    next_steps = [alert.next_step()]
    next_steps += [f"{label}: {url}" for label, url in alert.links()]
    if alert.exempt_tag_key and alert.resource_type != SECURITY_GROUP:
        next_steps.append(f"Exempt a job: tag it {alert.exempt_tag_key}=true when you create it")
    related = [alert.arn] if alert.arn else []
    return {
        "version": CHAT_NOTIFICATION_VERSION,
        "source": "custom",
        "id": f"{alert.event_id or 'no-event'}/{alert.action.value}",
        "content": {
            "textType": "client-markdown",
            "title": f"{_CHAT_ICON[alert.severity]} {alert.headline()}",
            "description": description,
            "nextSteps": next_steps,
            "keywords": [
                alert.severity.value,
                alert.action.value,
                kind_label(alert.resource_type),
                alert.account,
                alert.region,
            ],
        },
        "metadata": {
            # One thread per resource: a failure and the retry that finished the work read together.
            "threadId": f"ict-guard/{alert.account}/{alert.region}/{alert.resource_type}/{alert.name.lower()}",
            "summary": alert.headline()[:200],
            "eventType": alert.action.value,
            "relatedResources": related,
            "additionalContext": {
                "severity": alert.severity.value,
                "account": alert.account,
                "region": alert.region,
                "mode": alert.mode,
                "event_id": str(alert.event_id),
            },
        },
    }


def chat_publish_arguments(alert: Alert, topic_arn: str) -> dict[str, Any]:
    return {
        "TopicArn": topic_arn,
        "Message": json.dumps(chat_notification(alert)),
        # The same attributes as the alert topic's, for subscription filter policies.
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
                self._logger.exception("could not publish the chat notification", extra={"alert_action": alert.action.value})
            if self._metrics is not None:
                self._metrics.add_metric(name="ChatDeliveryFailures", unit=MetricUnit.Count, value=1)
