"""Is the guard deployed and healthy? The CloudFormation stack, its functions, EventBridge rules,
dead-letter queue and alarms; and the policy the deployed job guard runs with (its environment),
so that `scan` and `explain` decide as the deployed function does."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ict_guard.errors import error_code
from ict_guard_cli.session import AwsContext, explain_aws_error

DEFAULT_STACK_NAME = "sagemaker-ict-guard"  # samconfig.toml's default environment
JOB_GUARD_FUNCTION = "JobGuardFunction"  # logical id in template.yaml
# An output only the guard's template has (template.yaml, Outputs): how a stack deployed under
# any name (samconfig's -prod, -dev; a console or Serverless Application Repository deploy, whose
# names are the user's choice) is recognised.
GUARD_OUTPUT = "JobGuardFunctionArn"

_HEALTHY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# The stack runs its previous template: working, but the last change did not apply.
_DEGRADED = {"UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}


@dataclass
class StackProblem:
    severity: str
    message: str


@dataclass
class StackLocation:
    """Which stack `scan` and `explain` read, and how it was chosen."""

    name: str
    found_by: str
    others: list[str] = field(default_factory=list)  # further guard stacks in the same region


def samconfig_stack_names(path: Path, region: str) -> list[str]:
    """Stack names the samconfig.toml at `path` deploys to `region`, its default environment
    first. A file that is missing or not TOML gives none: it is only a hint."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    names: list[str] = []
    environments = sorted(config.items(), key=lambda item: item[0] != "default")
    for _, environment in environments:
        if not isinstance(environment, dict):
            continue
        merged: dict[str, Any] = {}
        for command in ("global", "deploy"):
            parameters = (environment.get(command) or {}).get("parameters") or {}
            if isinstance(parameters, dict):
                merged.update(parameters)
        name = merged.get("stack_name")
        if isinstance(name, str) and merged.get("region", region) == region and name not in names:
            names.append(name)
    return names


def guard_stacks(aws: AwsContext) -> list[str]:
    """Names of the stacks in the region whose outputs say they are the guard."""
    found = []
    pages = aws.client("cloudformation").get_paginator("describe_stacks").paginate()
    for page in pages:
        for stack in page["Stacks"]:
            outputs = {o.get("OutputKey") for o in stack.get("Outputs") or ()}
            if GUARD_OUTPUT in outputs and stack.get("StackStatus") != "DELETE_COMPLETE":
                found.append(stack["StackName"])
    return found


def locate_stack(aws: AwsContext, given: str | None, samconfig: Path | None = None) -> StackLocation:
    """The guard's stack: the one named (--stack-name, ICT_GUARD_STACK_NAME), else the stack in
    this region whose outputs say it is the guard (samconfig.toml in the current directory breaks
    a tie), else the name samconfig.toml deploys here, else the default name."""
    if given:
        return StackLocation(given, "named by --stack-name")
    samconfig = samconfig if samconfig is not None else Path.cwd() / "samconfig.toml"
    configured = samconfig_stack_names(samconfig, aws.region_name)
    try:
        deployed = guard_stacks(aws)
    except ClientError as exc:
        name = configured[0] if configured else DEFAULT_STACK_NAME
        return StackLocation(name, f"assumed (stacks not listable: {explain_aws_error(exc).message})")
    if len(deployed) == 1:
        return StackLocation(deployed[0], f"the only stack in {aws.region_name} with the guard's outputs")
    if deployed:
        ranked = sorted(deployed, key=lambda n: (configured.index(n) if n in configured else len(configured), n))
        return StackLocation(
            ranked[0],
            "one of several stacks with the guard's outputs"
            + (" (samconfig.toml names it)" if ranked[0] in configured else ""),
            others=ranked[1:],
        )
    if configured:
        return StackLocation(configured[0], f"named by {samconfig.name} for {aws.region_name}")
    return StackLocation(DEFAULT_STACK_NAME, "the default name")


@dataclass
class StackAudit:
    name: str
    found_by: str | None = None
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


def audit_stack(aws: AwsContext, name: str | StackLocation) -> StackAudit:
    location = name if isinstance(name, StackLocation) else StackLocation(name, "named")
    name = location.name
    audit = StackAudit(name, found_by=location.found_by)
    if location.others:
        audit.problem(
            "HIGH",
            f"{len(location.others) + 1} guard stacks in {aws.region_name} ({', '.join([name, *location.others])}): "
            "each acts on every job; keep one per account and region (--stack-name picks which to read)",
        )
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
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
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
        audit.problem("HIGH", f"function {logical} was not created ({resource.get('ResourceStatus')})")
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
        described = aws.client("events").describe_rule(Name=rule, **({"EventBusName": bus} if bus else {}))
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
        audit.problem("MEDIUM", f"queue {resource['LogicalResourceId']}: {explain_aws_error(exc).message}")
        return
    depth = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )
    audit.dead_letter_queues.append({"logical_id": resource["LogicalResourceId"], "url": url, "depth": depth})
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
            alarms += aws.client("cloudwatch").describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]
    except ClientError as exc:
        audit.problem("LOW", f"alarms: {explain_aws_error(exc).message}")
        return
    for alarm in alarms:
        audit.alarms.append({"name": alarm["AlarmName"], "state": alarm.get("StateValue")})
        if alarm.get("StateValue") == "ALARM":
            audit.problem("MEDIUM", f"alarm {alarm['AlarmName']} is in ALARM")
