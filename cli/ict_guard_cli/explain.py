"""`explain JOB`: what the guard would do with one job and why, changing nothing.

The decision comes from `ict_guard.remediation.evaluate_job`, the function the deployed job guard
runs (Describe*, ListTags, the ledger for an ended job, `policy.decide`); the steps are the plan
the guard itself builds (`ict_guard.plan.plan_remediation`), copy preflight included. The
security-group check is `missing_ipsec_rules`, the coverage test the repair uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ict_guard.errors import JobGone, error_code
from ict_guard.jobs import JOB_APIS, JobKind
from ict_guard.ledger import LedgerEntry, RemediationLedger
from ict_guard.plan import RemediationPlan, plan_remediation
from ict_guard.policy import Action
from ict_guard.ports import BotoSageMakerJobs
from ict_guard.remediation import Evaluation, JobRef, describe_job, evaluate_job
from ict_guard.security_groups import RuleNeed, missing_ipsec_rules
from ict_guard.settings import Settings
from ict_guard.steps import CreateCopy, Publish, RecordIntent, RemediateParent, RepairGroups, StopJob
from ict_guard_cli import ExitCode
from ict_guard_cli.session import AwsContext, CliError, explain_aws_error

EXPLAIN_EVENT_ID = "ict-guard-cli:explain"


class _ReadOnlyLedger(RemediationLedger):
    """The deployed guard's ledger, read only; a table the caller may not read is noted and the
    guard's fallback (the job's remediation tag) decides instead."""

    def __init__(self, dynamodb: Any, table_name: str, notes: list[str]) -> None:
        super().__init__(dynamodb, table_name)
        self._notes = notes
        self._table_name = table_name

    def lookup(self, job_key: str) -> LedgerEntry | None:
        try:
            return super().lookup(job_key)
        except ClientError as exc:
            self._notes.append(
                f"ledger table {self._table_name} not readable ({error_code(exc)}); "
                "the history comes from the job's remediation tag, as the guard's fallback does"
            )
            return None

    def record(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - never called
        raise AssertionError("explain never writes")

    def settle(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - never called
        raise AssertionError("explain never writes")


@dataclass
class GroupCheck:
    group_ids: tuple[str, ...]
    missing: list[RuleNeed] = field(default_factory=list)
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_ids": list(self.group_ids),
            "missing_rules": [
                {
                    "direction": n.direction.value,
                    "protocol": n.protocol,
                    "port": n.port,
                    "description": n.describe(),
                }
                for n in self.missing
            ],
            "problem": self.problem,
        }


@dataclass
class Explanation:
    ref: JobRef
    evaluation: Evaluation
    settings: Settings
    settings_source: str
    steps: list[str]
    groups: list[GroupCheck]
    relaunch_request: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    parent: Explanation | None = None
    plan: RemediationPlan | None = None

    @property
    def action(self) -> Action:
        return self.plan.action if self.plan is not None else self.evaluation.decision.action

    @property
    def acts(self) -> bool:
        """Whether the guard would change something or alert (the exit code of `explain`)."""
        if self.parent is not None:
            return self.parent.acts
        if self.action is Action.REPAIR_SECURITY_GROUPS:
            return any(g.missing for g in self.groups)
        return self.action not in (Action.NOTHING, Action.LEAVE_TO_PARENT)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FINDINGS if self.acts else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        job = self.evaluation.job
        entry = self.evaluation.entry
        return {
            "job": {
                "kind": job.kind.value,
                "name": job.name,
                "arn": job.arn,
                "status": job.status,
                "encrypted": job.encrypted,
                "instance_count": job.instance_count,
                "unencrypted_definitions": list(job.unencrypted_definitions),
                "parent_arn": job.parent_arn,
                "tags": dict(job.tags),
                "security_groups": [list(g) for g in job.security_group_sets],
            },
            "settings": {
                "source": self.settings_source,
                "mode": self.settings.mode.value,
                "min_instance_count": self.settings.min_instance_count,
                "exempt_tag_key": self.settings.exempt_tag_key,
                "repair_security_groups": self.settings.repair_security_groups,
                "relaunch_role_pattern": getattr(self.settings, "relaunch_role_pattern", None),
            },
            "ledger": None
            if entry is None
            else {"intent": entry.intent.value, "settled": entry.settled, "outcome": entry.outcome},
            "decision": {
                "action": self.action.value,
                "reason": self.plan.reason if self.plan is not None else self.evaluation.decision.reason,
            },
            "would_act": self.acts,
            "steps": self.steps,
            "security_groups": [g.as_dict() for g in self.groups],
            "relaunch_request": self.relaunch_request,
            "notes": self.notes,
            "parent": self.parent.as_dict() if self.parent else None,
        }


def explain_job(
    aws: AwsContext,
    kind: JobKind,
    name: str,
    settings: Settings,
    settings_source: str,
    ledger_table: str | None = None,
) -> Explanation:
    sagemaker = aws.client("sagemaker")
    notes: list[str] = []
    ledger = _ReadOnlyLedger(aws.client("dynamodb"), ledger_table, notes) if ledger_table else None
    if ledger is None:
        notes.append("no ledger table known (guard stack not found): an ended job's history comes from its tags")
    ref = JobRef.for_job(kind, name, account=aws.account, region=aws.region_name, event_id=EXPLAIN_EVENT_ID)
    try:
        evaluation = evaluate_job(BotoSageMakerJobs(sagemaker), settings, ref, ledger)
    except JobGone:
        raise CliError(
            f"no {kind.value} named {name} in account {aws.account}, region {aws.region_name}",
            ExitCode.NOT_FOUND,
            _other_kind_hint(sagemaker, kind, name),
        ) from None
    except ClientError as exc:
        raise explain_aws_error(exc) from None

    explanation = Explanation(ref, evaluation, settings, settings_source, [], [], notes=notes)
    explanation.groups = _check_groups(aws, evaluation.job.security_group_sets)
    _plan(explanation, sagemaker)
    job = evaluation.job
    if evaluation.decision.action is Action.LEAVE_TO_PARENT and job.parent_kind and job.parent_name:
        try:
            explanation.parent = explain_job(
                aws, job.parent_kind, job.parent_name, settings, settings_source, ledger_table
            )
        except CliError as exc:
            if exc.exit_code is not ExitCode.NOT_FOUND:
                raise
            notes.append(f"its parent is gone ({exc.message}): the guard does nothing")
    return explanation


def _other_kind_hint(sagemaker: Any, kind: JobKind, name: str) -> str | None:
    for api in JOB_APIS.values():
        if api.kind is kind or not api.name_pattern.match(name):
            continue
        try:
            describe_job(sagemaker, api, name)
        except (JobGone, ClientError):
            continue
        return f"there is a {api.label} of that name: pass --kind {api.short_name}"
    return None


def _check_groups(aws: AwsContext, group_sets: tuple[tuple[str, ...], ...]) -> list[GroupCheck]:
    checks = []
    for groups in group_sets:
        check = GroupCheck(groups)
        try:
            described = aws.client("ec2").describe_security_groups(GroupIds=list(groups))["SecurityGroups"]
            check.missing = missing_ipsec_rules(described, groups)
        except ClientError as exc:
            check.problem = f"{', '.join(groups)}: {explain_aws_error(exc).message}"
        checks.append(check)
    return checks


def _rules_text(checks: list[GroupCheck]) -> str:
    problems = [c.problem for c in checks if c.problem]
    if problems:
        return "check the security groups (" + "; ".join(problems) + ")"
    lacking = [c for c in checks if c.missing]
    if not lacking:
        return "check the security groups: every IPsec rule is already covered, nothing to add"
    return "; ".join(
        f"add to {', '.join(c.group_ids)} (self-referencing, on its first group with room, tagged "
        f"ict-guard:managed=true): {', '.join(n.describe() for n in c.missing)}"
        for c in lacking
    )


def _plan(explanation: Explanation, sagemaker: Any) -> None:
    """The steps of the plan the deployed guard builds for this job (`plan.plan_remediation`,
    the same pure function), printed with what explain read of the security groups."""
    evaluation, settings = explanation.evaluation, explanation.settings
    job, api = evaluation.job, evaluation.api
    plan = plan_remediation(evaluation, settings, sagemaker.meta.service_model)
    explanation.plan = plan
    explanation.relaunch_request = dict(plan.relaunch_request) if plan.relaunch_request else None
    explanation.notes += list(plan.notes)
    explanation.notes += [f"cannot be re-launched as the same workload: {r.message}" for r in plan.refusals]
    steps = explanation.steps
    for step in plan.steps:
        match step:
            case RecordIntent():
                steps.append(f"{step.describe()} in the ledger")
            case StopJob():
                steps.append(f"{api.stop_operation} {step.name}")
            case RepairGroups():
                steps.append(_rules_text(explanation.groups))
            case CreateCopy():
                steps.append(f"{api.create_operation} {step.name} with EnableInterContainerTrafficEncryption=true")
            case Publish(only_if_repaired=True):
                if any(c.missing for c in explanation.groups):
                    steps.append(f"publish a '{step.action.value}' alert")
            case Publish():
                needed = " (action needed)" if step.action_needed else ""
                steps.append(f"publish a '{step.action.value}' alert{needed}")
            case RemediateParent():
                steps.append(f"nothing on this job; the guard remediates its parent {job.parent_arn} instead")
            case _:
                if text := step.describe():
                    steps.append(text)
    if not steps:
        steps.append("nothing: no call that changes the account, no alert")
    if job.security_group_sets and not settings.repair_security_groups and any(c.missing for c in explanation.groups):
        explanation.notes.append(
            "security-group repair is off (RepairSecurityGroups=false): the missing rules stay missing"
        )
