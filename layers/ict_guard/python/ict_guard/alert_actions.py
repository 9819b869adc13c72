"""The vocabulary of alerts: actions, severities, resource labels and console links.

Shared by the alert itself (alerts.py), its wording per resource kind (wording.py), the chat card
(chat.py) and the Security Hub finding (findings.py).
"""

from __future__ import annotations

import enum
import re

SCHEMA_VERSION = "1.0"


class AlertAction(enum.StrEnum):
    STOPPED = "stopped"
    RELAUNCHED = "relaunched"
    ENCRYPTED_IN_PLACE = "encrypted_in_place"  # a monitoring schedule, updated: its next runs encrypted
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
    AlertAction.ENCRYPTED_IN_PLACE: Severity.HIGH,
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
    "processing-job": "processing job",
    "automl-job": "AutoML job",
    "monitoring-schedule": "monitoring schedule",
    SECURITY_GROUP: "security group",
}
# CloudTrail event IDs are UUIDs; the sweeper's references ("sweep:...") are not events.
_CLOUDTRAIL_EVENT_ID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def kind_label(resource_type: str) -> str:
    return _KIND_LABEL.get(resource_type, resource_type)


def initiator_label(initiated_by: str | None, acting_for: str | None = None) -> str:
    """Who started it, as a person reads it: the person first, the role and ARN after.

    arn:aws:sts::1:assumed-role/DataScientist/alice -> "alice (role DataScientist, arn:...)".
    Behind a shared role (SageMaker Studio's execution role, session name "SageMaker"), the
    person is CloudTrail's sourceIdentity or onBehalfOf user (`acting_for`):
    "data-scientist-b (source identity; role AmazonSageMaker-ExecutionRole-X, arn:...)".
    """
    if not initiated_by and not acting_for:
        return "unknown (not recorded in the event)"
    resource = initiated_by.split(":", 5)[-1] if initiated_by and initiated_by.startswith("arn:") else ""
    parts = resource.split("/")
    if acting_for:
        via = f"role {parts[1]}, " if parts[0] == "assumed-role" and len(parts) >= 3 else ""
        return f"{acting_for} (source identity; {via}{initiated_by or 'caller not recorded'})"
    if parts[0] == "assumed-role" and len(parts) >= 3:
        return f"{parts[-1]} (role {parts[1]}, {initiated_by})"
    if parts[0] == "user" and len(parts) >= 2:
        return f"{parts[-1]} (IAM user, {initiated_by})"
    if resource == "root":
        return f"the account root user ({initiated_by})"
    return str(initiated_by)


def cloudtrail_event_url(region: str, event_id: str | None) -> str | None:
    if not event_id or not _CLOUDTRAIL_EVENT_ID.match(event_id):
        return None
    return f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{event_id}"


def console_url(region: str, resource_type: str, name: str) -> str:
    if resource_type == SECURITY_GROUP:
        ec2 = f"https://{region}.console.aws.amazon.com/ec2/home?region={region}"
        return f"{ec2}#SecurityGroup:groupId={name}"
    home = f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/"
    # The console's sections for the kinds whose address is known; the console's home otherwise
    # (AutoML jobs and monitoring schedules live in SageMaker Studio and Canvas).
    section = {
        "training-job": "jobs",
        "hyper-parameter-tuning-job": "hyper-tuning-jobs",
        "processing-job": "processing-jobs",
    }.get(resource_type)
    return f"{home}{section}/{name}" if section else home
