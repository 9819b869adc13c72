"""Alerts: one SNS message per outcome, readable text for people and one JSON document for
machines (the alert schema of DESIGN.md), with `action` and `severity` message attributes for
subscription filter policies."""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ict_guard.jobs import MANAGED_TAG

if TYPE_CHECKING:
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
    instance_count: int | None = None
    relaunched_as: str | None = None
    security_groups: list[str] = field(default_factory=list)
    rules_added: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps_done: list[str] = field(default_factory=list)
    steps_pending: list[str] = field(default_factory=list)
    relaunch_request: dict[str, Any] | None = None
    exempt_tag_key: str | None = None

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
            doc["problems"] = [*self.problems, "relaunch_request left out: too large for SNS"]
        return doc

    def subject(self) -> str:
        text = f"ict-guard {self.action.value}: {self.resource_type} {self.name}"
        return text.encode("ascii", "replace").decode()[:100]

    def text(self) -> str:
        lines = [
            f"sagemaker-ict-guard: {_HEADLINE[self.action]} - {self.resource_type} {self.name}",
            "",
            "What happened: " + self._what_happened(),
            "What the guard did: " + self._what_was_done(),
            "Why: " + self.reason,
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
        label = "Security group" if self.resource_type == SECURITY_GROUP else "Job"
        lines += ["", f"{label}: {console_url(self.region, self.resource_type, self.name)}"]
        if self.relaunched_as:
            lines.append(
                f"Re-launch: {console_url(self.region, self.resource_type, self.relaunched_as)}"
            )
        lines.append(f"Account {self.account}, region {self.region}, CloudTrail event {self.event_id}.")
        if self.exempt_tag_key:
            lines.append(
                f"To exempt a job (alert only, never touched), tag it {self.exempt_tag_key}=true."
            )
        if self.resource_type == SECURITY_GROUP:
            lines.append(
                "To release the group (the guard stops restoring its rules), remove its tag "
                f"{MANAGED_TAG}."
            )
        return "\n".join(lines)

    def _what_happened(self) -> str:
        who = f" by {self.initiated_by}" if self.initiated_by else ""
        count = f" on {self.instance_count} instances" if self.instance_count else ""
        if self.resource_type == SECURITY_GROUP:
            return (
                f"IPsec rules that encrypted jobs need were removed from or changed on {self.name}"
                f"{who}; the group carries {MANAGED_TAG}=true, so the guard keeps them."
            )
        if self.action is AlertAction.SECURITY_GROUPS_REPAIRED:
            return (
                f"{self.resource_type} {self.name} was started{who} with encryption on, but its "
                "security groups did not allow the IPsec traffic encryption needs."
            )
        return (
            f"{self.resource_type} {self.name} was started{who}{count} without "
            "inter-container traffic encryption."
        )

    def _what_was_done(self) -> str:
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


_HEADLINE = {
    AlertAction.STOPPED: "job stopped",
    AlertAction.RELAUNCHED: "job re-launched with encryption",
    AlertAction.NOTIFIED: "unencrypted job found",
    AlertAction.SECURITY_GROUPS_REPAIRED: "security groups repaired",
    AlertAction.SECURITY_GROUPS_RESTORED: "security-group rules restored",
    AlertAction.FAILED: "REMEDIATION FAILED",
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


class AlertPublisher:
    def __init__(self, sns: SNSClient, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, alert: Alert) -> str:
        return self._sns.publish(**sns_publish_arguments(alert, self._topic_arn))["MessageId"]
