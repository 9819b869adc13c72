"""Is the guard deployed and healthy? The CloudFormation stack, its functions, EventBridge rules,
dead-letter queue and alarms; and the policy the deployed job guard runs with (its environment),
so that `scan` and `explain` decide as the deployed function does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from ict_guard.errors import error_code

from ict_guard_cli.session import AwsContext, explain_aws_error

DEFAULT_STACK_NAME = "sagemaker-ict-guard"  # samconfig.toml's default environment
JOB_GUARD_FUNCTION = "JobGuardFunction"  # logical id in template.yaml

_HEALTHY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# The stack runs its previous template: working, but the last change did not apply.
_DEGRADED = {"UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}


@dataclass
class StackProblem:
    severity: str
    message: str


@dataclass
class StackAudit:
    name: str
    found: bool = False
    status: str | None = None
    status_reason: str | None = None
    functions: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    dead_letter_queues: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    problems: list[StackProblem] = field(default_factory=list)
    job_guard_environment: dict[str, str] | None = None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.found and not self.problems and self.error is None

    def problem(self, severity: str, message: str) -> None:
        self.problems.append(StackProblem(severity, message))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("job_guard_environment")
        data["healthy"] = self.healthy
        return data


def audit_stack(aws: AwsContext, name: str) -> StackAudit:
    audit = StackAudit(name)
    cloudformation = aws.client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        # DescribeStacks answers ValidationError for a stack that does not exist; the name was
        # checked against CloudFormation's pattern before, so the code means "not found".
        if error_code(exc) == "ValidationError":
            audit.problem("HIGH", f"stack {name} is not deployed in {aws.region_name}")
            return audit
        audit.error = explain_aws_error(exc).message
        return audit
    audit.found = True
    audit.status = stack["StackStatus"]
    audit.status_reason = stack.get("StackStatusReason")
    if audit.status in _DEGRADED:
        audit.problem("MEDIUM", f"stack status {audit.status}: the last update was rolled back")
    elif audit.status.endswith("_IN_PROGRESS"):
        audit.problem("LOW", f"stack status {audit.status}: a change is being applied")
    elif audit.status not in _HEALTHY:
        audit.problem("HIGH", f"stack status {audit.status}")

    try:
        resources = [
            summary
            for page in cloudformation.get_paginator("list_stack_resources").paginate(
                StackName=name
            )
            for summary in page["StackResourceSummaries"]
        ]
    except ClientError as exc:
        audit.error = explain_aws_error(exc).message
        return audit
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["ResourceType"], []).append(resource)

    for resource in by_type.get("AWS::Lambda::Function", []):
        _check_function(aws, audit, resource)
    if not any(f["logical_id"] == JOB_GUARD_FUNCTION for f in audit.functions):
        audit.problem("HIGH", f"the stack has no {JOB_GUARD_FUNCTION}: is it the guard's stack?")
    for resource in by_type.get("AWS::Events::Rule", []):
        _check_rule(aws, audit, resource)
    for resource in by_type.get("AWS::SQS::Queue", []):
        _check_queue(aws, audit, resource)
    alarms = by_type.get("AWS::CloudWatch::Alarm", [])
    if alarms:
        _check_alarms(aws, audit, alarms)
    return audit


def _check_function(aws: AwsContext, audit: StackAudit, resource: Mapping[str, Any]) -> None:
    logical, physical = resource["LogicalResourceId"], resource.get("PhysicalResourceId")
    entry: dict[str, Any] = {"logical_id": logical, "name": physical, "exists": False}
    audit.functions.append(entry)
    if not physical:
        audit.problem(
            "HIGH", f"function {logical} was not created ({resource.get('ResourceStatus')})"
        )
        return
    try:
        config = aws.client("lambda").get_function_configuration(FunctionName=physical)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            audit.problem("HIGH", f"function {physical} ({logical}) does not exist")
            return
        audit.problem("MEDIUM", f"function {physical}: {explain_aws_error(exc).message}")
        return
    state, update = config.get("State", "Active"), config.get("LastUpdateStatus", "Successful")
    entry.update(exists=True, state=state, last_update_status=update, runtime=config.get("Runtime"))
    if state != "Active" or update == "Failed":
        audit.problem("HIGH", f"function {physical} is {state} (last update {update})")
    if logical == JOB_GUARD_FUNCTION:
        audit.job_guard_environment = dict((config.get("Environment") or {}).get("Variables") or {})


def _check_rule(aws: AwsContext, audit: StackAudit, resource: Mapping[str, Any]) -> None:
    physical = str(resource.get("PhysicalResourceId") or "")
    # CloudFormation names a rule on a custom bus "<bus>|<rule>".
    bus, _, rule = physical.rpartition("|")
    try:
        described = aws.client("events").describe_rule(
            Name=rule, **({"EventBusName": bus} if bus else {})
        )
    except ClientError as exc:
        audit.problem(
            "HIGH",
            f"EventBridge rule {rule or resource['LogicalResourceId']}: {explain_aws_error(exc).message}",
        )
        return
    state = described.get("State", "ENABLED")
    audit.rules.append({"logical_id": resource["LogicalResourceId"], "name": rule, "state": state})
    if state != "ENABLED":
        audit.problem("HIGH", f"EventBridge rule {rule} is {state}: the guard hears of no job")


def _check_queue(aws: AwsContext, audit: StackAudit, resource: Mapping[str, Any]) -> None:
    url = resource.get("PhysicalResourceId")
    try:
        attributes = aws.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except ClientError as exc:
        audit.problem(
            "MEDIUM", f"queue {resource['LogicalResourceId']}: {explain_aws_error(exc).message}"
        )
        return
    depth = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )
    audit.dead_letter_queues.append(
        {"logical_id": resource["LogicalResourceId"], "url": url, "depth": depth}
    )
    if depth:
        audit.problem(
            "MEDIUM",
            f"{depth} failed event(s) in the dead-letter queue {resource['LogicalResourceId']}: "
            "read them, fix the cause, redrive",
        )


def _check_alarms(aws: AwsContext, audit: StackAudit, resources: list[Mapping[str, Any]]) -> None:
    names = [str(r["PhysicalResourceId"]) for r in resources if r.get("PhysicalResourceId")]
    try:
        alarms = []
        for start in range(0, len(names), 100):
            alarms += aws.client("cloudwatch").describe_alarms(
                AlarmNames=names[start : start + 100]
            )["MetricAlarms"]
    except ClientError as exc:
        audit.problem("LOW", f"alarms: {explain_aws_error(exc).message}")
        return
    for alarm in alarms:
        audit.alarms.append({"name": alarm["AlarmName"], "state": alarm.get("StateValue")})
        if alarm.get("StateValue") == "ALARM":
            audit.problem("MEDIUM", f"alarm {alarm['AlarmName']} is in ALARM")
