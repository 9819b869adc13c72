"""`scan`: audit one account and region.

Jobs: the List* calls filter in SageMaker (status, creation window) and page; Describe* is
called only for what a list summary cannot tell (encryption, instance count, VPC, parent), with
bounded concurrency, and ListTags only for unencrypted distributed jobs (exemption, the guard's
own remediation tag). Each such job goes through the guard's own `decide`, so a row says what
the guard does with it. Security groups: one DescribeSecurityGroups per 100 groups, coverage by
`missing_ipsec_rules` over each job's set. Then the CloudTrail prerequisite and the guard stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore import xform_name
from botocore.exceptions import ClientError

from ict_guard import __version__
from ict_guard.errors import JobGone, error_code
from ict_guard.jobs import JOB_APIS, Job, JobKind
from ict_guard.policy import Action, Decision, decide, history_from_tag, needs_history
from ict_guard.ports import BotoSageMakerJobs
from ict_guard.preflight import workload_refusals
from ict_guard.remediation import describe_job, list_job_tags, resolve_definition
from ict_guard.security_groups import RuleNeed, missing_ipsec_rules
from ict_guard.settings import Settings, UnrelaunchableJobAction
from ict_guard_cli import ExitCode
from ict_guard_cli.pipelines import PipelinesAudit, audit_pipelines
from ict_guard_cli.session import AwsContext, explain_aws_error
from ict_guard_cli.stack import StackAudit, audit_stack, locate_stack
from ict_guard_cli.trails import CloudTrailAudit, audit_cloudtrail, describe_trail

SCHEMA_VERSION = "1.0"
STATUSES = ("InProgress", "Stopping", "Completed", "Failed", "Stopped")
RUNNING = {"InProgress", "Stopping"}
CHECKS = ("jobs", "security-groups", "cloudtrail", "stack", "pipelines")
PAGE_SIZE = 100  # the List* maximum: fewest calls
_SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}


class Progress(Protocol):
    """Where the scan reports progress (a rich progress bar on stderr, or nothing)."""

    def phase(self, description: str, total: int | None = None) -> Callable[[int], None]: ...


class NoProgress:
    def phase(self, description: str, total: int | None = None) -> Callable[[int], None]:
        def ignore(advance: int = 1) -> None:
            return None

        return ignore


@dataclass(frozen=True)
class ScanOptions:
    since: dt.datetime
    kinds: tuple[JobKind, ...] = tuple(JOB_APIS)
    statuses: tuple[str, ...] = STATUSES
    skip: frozenset[str] = frozenset()
    concurrency: int = 8
    stack_name: str | None = None  # None: found by its outputs (stack.locate_stack)


@dataclass
class Finding:
    check: str
    severity: str
    resource: str
    message: str


@dataclass
class JobRow:
    """One described job that is unencrypted and distributed, with the guard's decision."""

    job: Job
    created: dt.datetime | None
    decision: Decision
    state: str  # running-unencrypted, ran-unencrypted, remediation-pending, remediated, exempt, child
    children: int = 0

    @property
    def finding(self) -> bool:
        return self.state not in ("remediated", "exempt")

    def as_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "kind": job.kind.value,
            "name": job.name,
            "arn": job.arn,
            "status": job.status,
            "created": self.created.isoformat() if self.created else None,
            "instance_count": job.instance_count,
            "encrypted": job.encrypted,
            "unencrypted_definitions": list(job.unencrypted_definitions),
            "security_groups": [list(groups) for groups in job.security_group_sets],
            "parent_arn": job.parent_arn,
            "training_jobs_seen": self.children,
            "state": self.state,
            "finding": self.finding,
            "decision": {"action": self.decision.action.value, "reason": self.decision.reason},
        }


@dataclass
class GroupSetRow:
    """A set of security groups distributed jobs run in, and the IPsec rules it lacks."""

    group_ids: tuple[str, ...]
    jobs: list[str] = field(default_factory=list)
    missing: list[RuleNeed] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    vpc_id: str | None = None

    @property
    def finding(self) -> bool:
        return bool(self.missing or self.gone)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_ids": list(self.group_ids),
            "vpc_id": self.vpc_id,
            "missing_rules": [
                {
                    "direction": n.direction.value,
                    "protocol": n.protocol,
                    "port": n.port,
                    "description": n.describe(),
                }
                for n in self.missing
            ],
            "groups_not_found": self.gone,
            "jobs": self.jobs,
            "finding": self.finding,
        }


@dataclass
class JobsAudit:
    listed: dict[str, int] = field(default_factory=dict)
    described: int = 0
    encrypted: int = 0
    below_minimum: int = 0
    folded_children: int = 0
    rows: list[JobRow] = field(default_factory=list)
    group_sets: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "described": self.described,
            "encrypted": self.encrypted,
            "below_minimum_instance_count": self.below_minimum,
            "children_counted_with_their_tuning_job": self.folded_children,
            "unencrypted": [row.as_dict() for row in self.rows],
            "error": self.error,
        }


@dataclass
class GroupsAudit:
    checked: int = 0
    sets: list[GroupSetRow] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups_checked": self.checked,
            "sets": [s.as_dict() for s in self.sets],
            "error": self.error,
        }


@dataclass
class ScanReport:
    account: str
    region: str
    options: ScanOptions
    settings: Settings
    settings_source: str
    scanned_at: dt.datetime
    jobs: JobsAudit | None = None
    groups: GroupsAudit | None = None
    cloudtrail: CloudTrailAudit | None = None
    stack: StackAudit | None = None
    pipelines: PipelinesAudit | None = None

    @property
    def findings(self) -> list[Finding]:
        found: list[Finding] = []
        if self.jobs:
            for row in self.jobs.rows:
                if row.finding:
                    found.append(_job_finding(row))
        if self.groups:
            for group_set in self.groups.sets:
                if group_set.finding:
                    found.append(_group_finding(group_set))
        if self.cloudtrail and self.cloudtrail.error is None and not self.cloudtrail.ok:
            found.append(_trail_finding(self.cloudtrail))
        if self.stack:
            found += [Finding("stack", p.severity, self.stack.name, p.message) for p in self.stack.problems]
        if self.pipelines:
            found += [Finding("pipelines", *finding) for finding in self.pipelines.findings()]
        return sorted(found, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.check, f.resource))

    @property
    def errors(self) -> list[dict[str, str]]:
        audits: list[tuple[str, Any]] = [
            ("jobs", self.jobs),
            ("security-groups", self.groups),
            ("cloudtrail", self.cloudtrail),
            ("stack", self.stack),
            ("pipelines", self.pipelines),
        ]
        return [{"check": name, "message": audit.error} for name, audit in audits if audit and audit.error]

    @property
    def exit_code(self) -> ExitCode:
        if self.errors:
            return ExitCode.AWS_ERROR  # the audit is incomplete: never a green light
        return ExitCode.FINDINGS if self.findings else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "schema_version": SCHEMA_VERSION,
            "tool_version": __version__,
            "account": self.account,
            "region": self.region,
            "scanned_at": self.scanned_at.isoformat(),
            "since": self.options.since.isoformat(),
            "kinds": [k.value for k in self.options.kinds],
            "statuses": list(self.options.statuses),
            "skipped_checks": sorted(self.options.skip),
            "settings": {
                "source": self.settings_source,
                "mode": settings.mode.value,
                "min_instance_count": settings.min_instance_count,
                "exempt_tag_key": settings.exempt_tag_key,
                "repair_security_groups": settings.repair_security_groups,
            },
            "jobs": self.jobs.as_dict() if self.jobs else None,
            "security_groups": self.groups.as_dict() if self.groups else None,
            "cloudtrail": self.cloudtrail.as_dict() if self.cloudtrail else None,
            "stack": self.stack.as_dict() if self.stack else None,
            "pipelines": self.pipelines.as_dict() if self.pipelines else None,
            "findings": [f.__dict__ for f in self.findings],
            "errors": self.errors,
            "exit_code": int(self.exit_code),
        }

    def summary_lines(self) -> list[str]:
        """A few plain lines (for logs and the demo)."""
        lines = []
        if self.jobs:
            running = sum(1 for r in self.jobs.rows if r.state == "running-unencrypted")
            lines.append(
                f"jobs: {sum(self.jobs.listed.values())} listed, {self.jobs.described} described, "
                f"{running} running unencrypted, "
                f"{sum(1 for r in self.jobs.rows if r.finding) - running} other unencrypted finding(s), "
                f"{sum(1 for r in self.jobs.rows if r.state == 'remediated')} remediated by the guard, "
                f"{sum(1 for r in self.jobs.rows if r.state == 'exempt')} exempt"
            )
        if self.groups:
            lacking = [s for s in self.groups.sets if s.finding]
            lines.append(
                f"security groups: {len(self.groups.sets)} set(s) used by distributed jobs, "
                f"{len(lacking)} lacking IPsec rules"
                + "".join(
                    f"\n  {', '.join(s.group_ids)}: missing {', '.join(n.describe() for n in s.missing)}"
                    for s in lacking
                )
            )
        for finding in self.findings:
            if finding.check == "jobs":
                lines.append(f"  [{finding.severity}] {finding.resource}: {finding.message}")
        if self.cloudtrail:
            lines.append("cloudtrail: " + ("ok" if self.cloudtrail.ok else "no trail logs write management events"))
        if self.stack:
            lines.append(
                f"guard stack {self.stack.name}: "
                + (
                    "healthy"
                    if self.stack.healthy
                    else "; ".join(p.message for p in self.stack.problems) or str(self.stack.error)
                )
            )
        lines.append(f"{len(self.findings)} finding(s), exit code {int(self.exit_code)}")
        return lines


def _job_finding(row: JobRow) -> Finding:
    job = row.job
    resource = f"{job.kind.value}/{job.name}"
    where = f"{job.instance_count} instances"
    if row.state == "running-unencrypted":
        return Finding(
            "jobs",
            "HIGH",
            resource,
            f"{job.status} without inter-container traffic encryption ({where}); guard: {row.decision.action.value}",
        )
    if row.state == "remediation-pending":
        return Finding(
            "jobs",
            "HIGH",
            resource,
            f"stopped by the guard, which still owes its re-launch; guard: {row.decision.action.value}",
        )
    if row.state == "child":
        return Finding(
            "jobs",
            "MEDIUM",
            resource,
            f"{job.status} without encryption ({where}), launched by {job.parent_arn}",
        )
    return Finding(
        "jobs",
        "MEDIUM",
        resource,
        f"ran without inter-container traffic encryption ({where}), {job.status}",
    )


def _group_finding(group_set: GroupSetRow) -> Finding:
    parts = []
    if group_set.missing:
        parts.append("missing " + ", ".join(n.describe() for n in group_set.missing))
    if group_set.gone:
        parts.append("not found: " + ", ".join(group_set.gone))
    used_by = ", ".join(group_set.jobs[:3]) + (
        f" and {len(group_set.jobs) - 3} more" if len(group_set.jobs) > 3 else ""
    )
    return Finding(
        "security-groups",
        "MEDIUM",
        ",".join(group_set.group_ids),
        f"{'; '.join(parts)} (used by {used_by})",
    )


def _trail_finding(audit: CloudTrailAudit) -> Finding:
    if not audit.trails:
        message = "no CloudTrail trail covers this region: the guard never hears of a job"
    else:
        message = "no trail logs write management events here: " + "; ".join(
            f"{describe_trail(t)} {t.problem or 'does not qualify'}" for t in audit.trails
        )
    return Finding("cloudtrail", "HIGH", audit.region, message)


# -- jobs -----------------------------------------------------------------------------------------


def list_job_names(
    sagemaker: Any,
    kind: JobKind,
    statuses: Sequence[str],
    since: dt.datetime,
    tick: Callable[[int], None],
) -> list[str]:
    """Names of the jobs of `kind` in `statuses`: running ones whatever their age, the others
    when created since `since` (the sweeper's window too). One filtered, paged List* per status."""
    api = JOB_APIS[kind]
    operation, key, name_member = xform_name(api.list_operation), api.summaries_member, api.name_member
    names: dict[str, None] = {}
    for status in kind_statuses(sagemaker.meta.service_model, api, statuses):
        window = {} if api.is_active(status) else {"CreationTimeAfter": since}
        pages = sagemaker.get_paginator(operation).paginate(
            StatusEquals=status,
            SortBy="CreationTime",
            SortOrder="Descending",
            PaginationConfig={"PageSize": PAGE_SIZE},
            **window,
        )
        for page in pages:
            summaries = page.get(key, [])
            names.update((s[name_member], None) for s in summaries)
            tick(len(summaries))
    return list(names)


def kind_statuses(model: Any, api: Any, statuses: Sequence[str]) -> list[str]:
    """The scan's job statuses in the kind's own terms: InProgress is what the kind runs in
    (a schedule's Pending and Scheduled), and a status the kind's List* does not take is dropped
    (its StatusEquals enum in the botocore model: SageMaker refuses other values)."""
    enum = model.operation_model(api.list_operation).input_shape.members["StatusEquals"].enum
    wanted: list[str] = []
    for status in statuses:
        for own in api.active_statuses if status == "InProgress" else (status,):
            if own in enum and own not in wanted:
                wanted.append(own)
    return wanted


def _tuning_children(sagemaker: Any, name: str) -> list[str]:
    """The training jobs a tuning job launched; none known when the call is refused (a missing
    permission): they are then described one by one and counted with their parent after all."""
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    try:
        return [s["TrainingJobName"] for page in pages for s in page.get("TrainingJobSummaries", [])]
    except ClientError:
        return []


def _classify(job: Job, settings: Settings) -> tuple[Decision, str]:
    history = history_from_tag(job.remediation_tag) if needs_history(job) else None
    decision = decide(job, settings, history)
    if decision.action is Action.RELAUNCH and (refusals := workload_refusals(job, settings)):
        # What the guard's plan does with a job it cannot re-launch as the same workload (a
        # pipeline step, a role it may not pass): UnrelaunchableJobAction. (`explain` also checks
        # the copy itself against the service's rules.)
        stops = settings.unrelaunchable_job_action is UnrelaunchableJobAction.STOP
        decision = Decision(
            Action.STOP if stops else Action.NOTIFY,
            f"{decision.reason}, but the guard cannot re-launch it as the same workload: "
            + "; ".join(r.message for r in refusals),
        )
    # The same test as policy.decide's exemption rule.
    if job.tags.get(settings.exempt_tag_key, "").strip().lower() == "true":
        return decision, "exempt"
    if decision.action is Action.LEAVE_TO_PARENT:
        return decision, "child"
    if history is not None:
        return decision, "remediated" if history.settled else "remediation-pending"
    running = job.in_progress or job.status in RUNNING  # a schedule's Pending and Scheduled too
    return decision, "running-unencrypted" if running else "ran-unencrypted"


@dataclass
class _Described:
    job: Job | None
    created: dt.datetime | None = None
    total_children: int = 0


def audit_jobs(aws: AwsContext, settings: Settings, options: ScanOptions, progress: Progress) -> JobsAudit:
    audit = JobsAudit()
    sagemaker = aws.client("sagemaker")
    try:
        return _audit_jobs(sagemaker, settings, options, progress, audit)
    except ClientError as exc:
        audit.error = explain_aws_error(exc).message
        return audit


def _audit_jobs(
    sagemaker: Any, settings: Settings, options: ScanOptions, progress: Progress, audit: JobsAudit
) -> JobsAudit:
    # Parents first (the order of JOB_APIS): the training jobs a tuning job launched are then known
    # by name and counted with their parent instead of being described one by one.
    kinds = [k for k in JOB_APIS if k in options.kinds]
    rows: dict[str, JobRow] = {}
    known_children: dict[str, str] = {}  # training job name -> tuning job name
    for kind in kinds:
        tick = progress.phase(f"Listing {kind.value}s")
        names = list_job_names(sagemaker, kind, options.statuses, options.since, tick)
        audit.listed[kind.value] = len(names)
        if kind is JobKind.TRAINING:
            folded = [n for n in names if n in known_children]
            for name in folded:
                rows_parent = rows.get(f"{JobKind.TUNING.value}/{known_children[name]}")
                if rows_parent is not None:
                    rows_parent.children += 1
            audit.folded_children += len(folded)
            names = [n for n in names if n not in known_children]

        advance = progress.phase(f"Describing {len(names)} {kind.value}(s)", total=len(names))
        described = _describe_all(sagemaker, kind, names, settings, options, advance)
        audit.described += len(names)
        for item in described:
            job = item.job
            if job is None:
                continue
            if job.kind is JobKind.TUNING and item.total_children and JobKind.TRAINING in options.kinds:
                known_children.update((child, job.name) for child in _tuning_children(sagemaker, job.name))
            if not job.instances_decided_by_service and job.instance_count < settings.min_instance_count:
                audit.below_minimum += 1
                continue
            for groups in job.security_group_sets:
                audit.group_sets.setdefault(groups, []).append(f"{job.kind.value}/{job.name}")
            if job.encrypted:
                audit.encrypted += 1
                continue
            decision, state = _classify(job, settings)
            parent = f"{job.parent_kind.value}/{job.parent_name}" if job.parent_kind is not None else None
            if state == "child" and parent in rows:
                rows[parent].children += 1
                audit.folded_children += 1
                continue
            rows[f"{job.kind.value}/{job.name}"] = JobRow(job, item.created, decision, state)
    audit.rows = list(rows.values())
    return audit


def _describe_all(
    sagemaker: Any,
    kind: JobKind,
    names: Sequence[str],
    settings: Settings,
    options: ScanOptions,
    advance: Callable[[int], None],
) -> list[_Described]:
    api = JOB_APIS[kind]

    def one(name: str) -> _Described:
        try:
            # A schedule that runs a job definition by name is judged by that definition.
            described = resolve_definition(BotoSageMakerJobs(sagemaker), api, describe_job(sagemaker, api, name))
        except JobGone:
            return _Described(None)  # deleted between the list and the describe
        finally:
            advance(1)
        job = Job.from_describe(api, described, {})
        distributed = job.instances_decided_by_service or job.instance_count >= settings.min_instance_count
        if not job.encrypted and distributed:
            # Only now are the tags worth a call: exemption and the guard's remediation tag.
            job = Job.from_describe(api, described, list_job_tags(sagemaker, job.arn))
        counters = described.get("TrainingJobStatusCounters") or {}
        return _Described(job, described.get("CreationTime"), sum(int(v or 0) for v in counters.values()))

    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        return list(pool.map(one, names))


# -- security groups ------------------------------------------------------------------------------


def audit_security_groups(
    aws: AwsContext, group_sets: dict[tuple[str, ...], list[str]], progress: Progress
) -> GroupsAudit:
    audit = GroupsAudit()
    ids = sorted({g for groups in group_sets for g in groups})
    audit.checked = len(ids)
    ec2 = aws.client("ec2")
    advance = progress.phase(f"Checking {len(ids)} security group(s)", total=len(ids))
    found: dict[str, dict[str, Any]] = {}
    try:
        for chunk in _chunks(ids, 100):
            for group in _describe_groups(ec2, chunk):
                found[group["GroupId"]] = group
            advance(len(chunk))
    except ClientError as exc:
        audit.error = explain_aws_error(exc).message
        return audit
    for groups, jobs in group_sets.items():
        present = [found[g] for g in groups if g in found]
        row = GroupSetRow(
            group_ids=groups,
            jobs=sorted(jobs),
            gone=[g for g in groups if g not in found],
            vpc_id=next((g.get("VpcId") for g in present), None),
        )
        if present:
            row.missing = missing_ipsec_rules(present, groups)
        audit.sets.append(row)
    return audit


def _describe_groups(ec2: Any, group_ids: list[str]) -> list[dict[str, Any]]:
    """The groups that exist among `group_ids` (a deleted one fails the whole call: split)."""
    try:
        return ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    except ClientError as exc:
        if error_code(exc) not in (
            "InvalidGroup.NotFound",
            "InvalidGroupId.NotFound",
            "InvalidGroupId.Malformed",
        ):
            raise
        if len(group_ids) == 1:
            return []
        middle = len(group_ids) // 2
        return _describe_groups(ec2, group_ids[:middle]) + _describe_groups(ec2, group_ids[middle:])


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# -- the whole scan -------------------------------------------------------------------------------


def run_scan(
    aws: AwsContext,
    options: ScanOptions,
    settings: Settings,
    settings_source: str,
    progress: Progress | None = None,
    stack: StackAudit | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> ScanReport:
    progress = progress or NoProgress()
    report = ScanReport(
        account=aws.account,
        region=aws.region_name,
        options=options,
        settings=settings,
        settings_source=settings_source,
        scanned_at=clock(),
    )
    if "jobs" not in options.skip or "security-groups" not in options.skip:
        jobs = audit_jobs(aws, settings, options, progress)
        if "jobs" not in options.skip:
            report.jobs = jobs
        if "security-groups" not in options.skip and jobs.error is None:
            report.groups = audit_security_groups(aws, jobs.group_sets, progress)
        elif "security-groups" not in options.skip:
            report.groups = GroupsAudit(error=f"jobs could not be listed: {jobs.error}")
    if "cloudtrail" not in options.skip:
        progress.phase("Checking CloudTrail")
        report.cloudtrail = audit_cloudtrail(aws)
    if "stack" not in options.skip:
        progress.phase("Checking the guard stack")
        report.stack = stack if stack is not None else audit_stack(aws, locate_stack(aws, options.stack_name))
    if "pipelines" not in options.skip:
        report.pipelines = audit_pipelines(aws, settings, progress.phase("Reading pipelines"))
    return report
