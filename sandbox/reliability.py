"""Many jobs through the guard on the embedded AWS, and a verdict on where each one ended.

A campaign creates jobs the way data scientists do (their calls are never faulted), lets the
template's EventBridge rules route the CloudTrail events, runs the real handler with Lambda's
asynchronous semantics (one try, two retries, then the dead-letter queue), and then reads the
account back: every job, its tags, the alerts on the topic and the dead-letter queue.

What counts as a correct end state (DESIGN.md, "Failure semantics": every step safe to repeat,
every gap visible):

for a job the policy says must be re-launched
  remediated          stopped, exactly one encrypted copy running with the original's whole
                      configuration, the original tagged `relaunched`, a `relaunched` alert
  dead-lettered       the event is in the dead-letter queue (whose alarm speaks) and either
    untouched         nothing was done: the job still runs, unencrypted, untouched; or
    stopped, alerted  it was stopped without a copy, and a `failed` alert says what was done and
                      what was not and carries the full re-launch request; or
    stopped, SNS down the same, but SNS refused every `failed` alert the guard tried to publish
                      (every run that failed after the stop tried): the dead letter alone
                      speaks, and the ledger still holds the re-launch request for the redrive; or
    relaunched        the copy runs, and an alert (`relaunched` or `failed`) says so
for every other job (encrypted, single-instance, exempt)
  left running        never stopped, never copied, never tagged; an exempt job gets a
                      `notified` alert unless its event is dead-lettered

Anything else is a violation, and the worst ones have names: `lost` (runs unencrypted, no copy,
no dead letter), `stopped-not-relaunched` (outside the dead-letter queue, or without the alert
a person needs), `double-relaunch`, `bad-copy`, `touched-compliant`, `unexpected-job`.
Alerts may repeat (an SNS publish whose answer was lost is published again by botocore's retry):
they are counted, not failed.
"""

from __future__ import annotations

import enum
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ict_guard.ledger import KEY_PREFIX as LEDGER_PREFIX
from sandbox import sagemaker_extension
from sandbox.environment import GuardSandbox
from sandbox.faults import FaultInjector

EXEMPT_TAG = "ict-guard:exempt"
PIPELINE_TAGS = {
    "sagemaker:pipeline-execution-arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn/execution/abc123",
    "sagemaker:pipeline-step-name": "TrainStep",
}
REMEDIATION_TAG = "ict-guard:remediation"
RELAUNCHED_FROM_TAG = "ict-guard:relaunched-from"
STOPPED_STATES = ("Stopping", "Stopped")


@dataclass(frozen=True)
class JobProfile:
    """One kind of job a data scientist starts, and what the guard (relaunch mode, defaults)
    must do with it."""

    name: str
    request: Mapping[str, Any]  # keyword arguments of GuardSandbox.create_training_job
    must_relaunch: bool
    weight: int
    # What the guard cannot do for it: "unrelaunchable" (a pipeline step: left running with an
    # action-needed alert), "refused" (SageMaker refuses its encrypted copy after the stop).
    obstacle: str | None = None


def _instance_groups() -> dict[str, Any]:
    return {
        "VolumeSizeInGB": 50,
        "InstanceGroups": [
            {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1},
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.18xlarge", "InstanceCount": 1},
        ],
    }


# Half of the weight needs a re-launch, half must be left alone.
PROFILES: tuple[JobProfile, ...] = (
    JobProfile("unencrypted-vpc", {"encrypted": False}, True, 3),
    JobProfile("unencrypted-no-vpc", {"encrypted": False, "vpc": False}, True, 2),
    JobProfile("flag-absent", {"encrypted": None, "vpc": False}, True, 1),
    JobProfile(
        "heterogeneous", {"encrypted": False, "ResourceConfig": _instance_groups()}, True, 1
    ),
    JobProfile("encrypted-vpc", {"encrypted": True}, False, 3),
    JobProfile("encrypted-no-vpc", {"encrypted": True, "vpc": False}, False, 2),
    JobProfile("single-instance", {"encrypted": False, "instance_count": 1}, False, 1),
    JobProfile("exempt", {"encrypted": False, "tags": {EXEMPT_TAG: "true"}}, False, 1),
    JobProfile("pipeline-step", {"encrypted": False, "vpc": False, "tags": PIPELINE_TAGS}, False, 1, "unrelaunchable"),
    JobProfile("refused-copy", {"encrypted": False, "vpc": False}, False, 1, "refused"),
)
# The embedded SageMaker refuses the encrypted copy of every "refused-copy" job
# (sagemaker_extension.refuse_encrypted_creates; run_campaign installs it).
REFUSAL_MESSAGE = "The request was rejected: a rule the guard does not know (scripted by the campaign)."


@dataclass(frozen=True)
class JobSpec:
    name: str
    profile: JobProfile


def job_mix(count: int, seed: int = 0, prefix: str = "job") -> list[JobSpec]:
    """`count` jobs in the proportions of PROFILES, in a seeded random order."""
    wheel = [p for p in PROFILES for _ in range(p.weight)]
    profiles = [wheel[i % len(wheel)] for i in range(count)]
    random.Random(seed).shuffle(profiles)
    return [
        JobSpec(f"{prefix}-{i:04d}-{profile.name}", profile) for i, profile in enumerate(profiles)
    ]


class Verdict(enum.StrEnum):
    REMEDIATED = "remediated"
    DEAD_LETTERED_UNTOUCHED = "dead-lettered, untouched"
    DEAD_LETTERED_STOPPED_ALERTED = (
        "dead-lettered, stopped, failed alert with the re-launch request"
    )
    DEAD_LETTERED_STOPPED_SNS_DOWN = "dead-lettered, stopped, every failed alert refused by SNS"
    DEAD_LETTERED_RELAUNCHED = "dead-lettered after the copy was created, alerted"
    LEFT_RUNNING = "left running, as the policy says"
    # violations
    LOST = "lost: runs unencrypted, no copy, not dead-lettered"
    STOPPED_NOT_RELAUNCHED = "stopped, no copy, not dead-lettered or without a failed alert"
    DOUBLE_RELAUNCH = "more than one copy"
    BAD_COPY = "copy differs from the original or is not encrypted and running"
    UNCONFIRMED = "copy running, but no relaunched alert and not dead-lettered"
    TOUCHED_COMPLIANT = "a job the policy leaves alone was stopped, copied or tagged"
    EXEMPT_NOT_NOTIFIED = "exempt job without a notified alert and not dead-lettered"
    REFUSED_SETTLED = "stopped, copy refused by SageMaker: one failed alert with the request, settled"
    REFUSED_SILENT = "copy refused, but no failed alert with the request and not dead-lettered"

    @property
    def acceptable(self) -> bool:
        return self in _ACCEPTABLE


_ACCEPTABLE = {
    Verdict.REMEDIATED,
    Verdict.DEAD_LETTERED_UNTOUCHED,
    Verdict.DEAD_LETTERED_STOPPED_ALERTED,
    Verdict.DEAD_LETTERED_STOPPED_SNS_DOWN,
    Verdict.DEAD_LETTERED_RELAUNCHED,
    Verdict.LEFT_RUNNING,
    Verdict.REFUSED_SETTLED,
}


@dataclass
class Run:
    """One run of the handler for a job's event (a Lambda attempt), as the fault injector saw it."""

    number: int
    failed: bool
    attempts: list[Any] = field(default_factory=list)  # sandbox.faults.Attempt

    def tried(self, operation: str) -> bool:
        return any(a.operation == operation for a in self.attempts)

    def stopped(self) -> bool:
        return any(a.operation == "StopTrainingJob" and a.took_effect for a in self.attempts)

    @property
    def acted(self) -> bool:
        """The run got past its decision to an action (the copy, the groups, a tag)."""
        return any(
            a.operation in ("CreateTrainingJob", "AddTags", "DescribeSecurityGroups")
            for a in self.attempts
        )


def runs_after_stop(runs: Sequence[Run]) -> list[Run]:
    for index, run in enumerate(runs):
        if run.stopped():
            return list(runs[index:])
    return []


def silent_failures_after_stop(runs: Sequence[Run]) -> list[int]:
    """Runs that failed after the job was stopped, having acted, without trying to alert."""
    return [
        run.number
        for run in runs_after_stop(runs)
        if run.failed and run.acted and not run.tried("Publish")
    ]


@dataclass
class JobReport:
    spec: JobSpec
    verdict: Verdict
    detail: str = ""
    dead_lettered: bool = False
    alerts: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # handler results of its invocations
    ledger_outcome: str | None = None  # what the guard's ledger says it settled the job as
    runs: list[Run] = field(default_factory=list)  # every handler run for its events, in order


@dataclass
class CampaignReport:
    jobs: list[JobReport]
    invocations: int
    lambda_attempts: int
    dead_letters: int
    dead_lettered_copies: int
    unexpected_jobs: list[str]
    duplicate_alerts: int
    seconds: float
    cpu_seconds: float = (
        0.0  # this process's CPU time: throughput that does not depend on neighbours
    )
    injector: FaultInjector | None = None

    @property
    def verdicts(self) -> Counter[Verdict]:
        return Counter(job.verdict for job in self.jobs)

    @property
    def violations(self) -> list[JobReport]:
        return [job for job in self.jobs if not job.verdict.acceptable]

    def outcome_of_handler(self) -> Counter[str]:
        return Counter(outcome for job in self.jobs for outcome in job.outcomes)

    def figures(self, title: str) -> str:
        """The figures a person reads: jobs, faults by kind, outcomes, throughput."""
        needing = sum(1 for job in self.jobs if job.spec.profile.must_relaunch)
        lines = [
            f"{title}: {len(self.jobs)} jobs ({needing} to re-launch, "
            f"{len(self.jobs) - needing} to leave running)",
            f"  throughput: {len(self.jobs) / self.seconds:.1f} jobs/s, "
            f"{self.lambda_attempts / self.seconds:.1f} handler runs/s "
            f"({self.seconds:.1f} s wall); {1000 * self.cpu_seconds / len(self.jobs):.0f} ms CPU "
            "per job, embedded AWS included "
            f"({len(self.jobs) / self.cpu_seconds:.1f} jobs per CPU-second)",
        ]
        if self.injector is not None:
            inj = self.injector
            lines.append(
                f"  faults: {inj.total_injected} injected in {inj.total_attempts} HTTP attempts "
                f"(rate {inj.profile.rate:.2f}, seed {inj.profile.seed}); by kind "
                + ", ".join(f"{k} {n}" for k, n in inj.by_kind().items())
                + "; by service "
                + ", ".join(f"{k} {n}" for k, n in inj.by_service().items())
            )
            lines.append(
                f"  botocore retries: {inj.retries_granted} (backoff skipped: "
                f"{inj.backoff_skipped_seconds:.0f} s)"
            )
        lines.append(
            f"  Lambda: {self.invocations} events, {self.lambda_attempts} runs "
            f"({self.lambda_attempts - self.invocations} retries), "
            f"{self.dead_letters} dead-lettered "
            f"({self.dead_lettered_copies} of them the guard's own encrypted copies)"
        )
        lines.append(
            "  handler outcomes: "
            + ", ".join(f"{k} {n}" for k, n in sorted(self.outcome_of_handler().items()))
        )
        lines.append("  end states:")
        for verdict, n in sorted(
            self.verdicts.items(), key=lambda kv: (not kv[0].acceptable, -kv[1])
        ):
            marker = "" if verdict.acceptable else "  <-- VIOLATION"
            lines.append(f"    {n:5d}  {verdict.value}{marker}")
        lines.append(
            f"  duplicate alerts: {self.duplicate_alerts}; "
            f"unexpected jobs: {len(self.unexpected_jobs)}"
        )
        for job in self.violations[:10]:
            lines.append(
                f"    {job.spec.name}: {job.verdict.value} ({job.detail}); outcomes {job.outcomes}"
            )
        return "\n".join(lines)


def run_campaign(
    sandbox: GuardSandbox,
    specs: Sequence[JobSpec],
    *,
    injector: FaultInjector | None = None,
    batch: int = 25,
    on_batch: Callable[[int], None] | None = None,
) -> CampaignReport:
    """Create the jobs in batches, deliver each batch's events, then judge every job."""
    started, cpu_started = time.perf_counter(), time.process_time()
    invocations = []
    runs: dict[str, list[Run]] = defaultdict(list)
    handler_before = sandbox.function.handler
    sagemaker_extension.refuse_encrypted_creates("refused-copy", REFUSAL_MESSAGE)
    if injector is not None:
        _label_runs(sandbox, injector, runs)
    for start in range(0, len(specs), batch):
        for spec in specs[start : start + batch]:
            sandbox.create_training_job(spec.name, **spec.profile.request)
        invocations.extend(sandbox.deliver())
        if on_batch is not None:
            on_batch(start + batch)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    sandbox.function.handler = handler_before
    sagemaker_extension.clear_scripted_refusals()
    if injector is not None:
        injector.enabled = False  # reading the account back is not part of the experiment
    _collect_attempts(injector)
    report = judge(sandbox, specs, invocations, runs)
    report.seconds, report.cpu_seconds = seconds, cpu_seconds
    report.injector = injector
    return report


def _label_runs(sandbox: GuardSandbox, injector: FaultInjector, runs: dict[str, list[Run]]) -> None:
    """Label every HTTP attempt of the guard with the run of the handler that made it."""
    handler = sandbox.function.handler

    def labelled(event: Any, context: Any) -> Any:
        job_runs = runs[_event_job_name(event) or "?"]
        run = Run(number=len(job_runs) + 1, failed=True)
        job_runs.append(run)
        injector.label = run
        try:
            result = handler(event, context)
        finally:
            injector.label = None
        run.failed = False
        return result

    sandbox.function.handler = labelled


def _collect_attempts(injector: FaultInjector | None) -> None:
    if injector is None:
        return
    for attempt in injector.log:
        if isinstance(attempt.label, Run):
            attempt.label.attempts.append(attempt)


def ledger_outcomes(sandbox: GuardSandbox) -> dict[str, str]:
    """Job name (lower case) -> the outcome the guard's ledger settled it with."""
    dynamodb = sandbox.session.client("dynamodb")
    outcomes = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=sandbox.env.table_name):
        for item in page["Items"]:
            key = item["id"]["S"]
            if key.startswith(LEDGER_PREFIX) and "outcome" in item:
                outcomes[key.rsplit("/", 1)[-1]] = item["outcome"]["S"]
    return outcomes


def _event_job_name(event: Any) -> str | None:
    detail = (event or {}).get("detail") or {}
    request = detail.get("requestParameters") or {}
    name = request.get("trainingJobName")
    if isinstance(name, str):
        return name
    arn = (detail.get("responseElements") or {}).get("trainingJobArn")
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) else None


def configuration_fields(sagemaker: Any) -> list[str]:
    """The fields of a job's configuration: what CreateTrainingJob takes and DescribeTrainingJob
    returns, from the botocore model (so new SageMaker fields are compared too)."""
    model = sagemaker.meta.service_model
    create = model.operation_model("CreateTrainingJob").input_shape.members
    describe = model.operation_model("DescribeTrainingJob").output_shape.members
    skip = {"TrainingJobName", "EnableInterContainerTrafficEncryption", "Tags"}
    return [name for name in create if name in describe and name not in skip]


def configuration_differences(
    original: Mapping[str, Any], other: Mapping[str, Any], fields: Iterable[str]
) -> list[str]:
    return [name for name in fields if original.get(name) != other.get(name)]


def training_jobs_read_back(
    sandbox: GuardSandbox, names: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, str]], dict[str, list[str]]]:
    """Every training job as the account shows it afterwards: its description, its tags, and the
    copies that name each original in `ict-guard:relaunched-from`."""
    sagemaker = sandbox.sagemaker
    described = {name: sagemaker.describe_training_job(TrainingJobName=name) for name in names}
    tags = {
        name: {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=d["TrainingJobArn"])["Tags"]}
        for name, d in described.items()
    }
    copies: dict[str, list[str]] = defaultdict(list)
    for name, job_tags in tags.items():
        if RELAUNCHED_FROM_TAG in job_tags:
            copies[job_tags[RELAUNCHED_FROM_TAG]].append(name)
    return described, tags, copies


def judge(
    sandbox: GuardSandbox,
    specs: Sequence[JobSpec],
    invocations: Sequence[Any],
    runs: Mapping[str, list[Run]] | None = None,
) -> CampaignReport:
    runs = runs or {}
    sagemaker = sandbox.sagemaker
    settled = ledger_outcomes(sandbox)
    fields = configuration_fields(sagemaker)
    names = sandbox.training_job_names()
    described, tags, copies = training_jobs_read_back(sandbox, names)

    alerts_by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in sandbox.alerts():
        alerts_by_job[alert["resource"]["name"]].append(alert)
    dead = sandbox.dead_letters()
    dead_by_job = Counter(_event_job_name(record["requestPayload"]) for record in dead)
    outcomes: dict[str, list[str]] = defaultdict(list)
    for invocation in invocations:
        name = _event_job_name(invocation.event)
        outcomes[name].append(
            "dead-lettered"
            if invocation.dead_lettered
            else str((invocation.result or {}).get("outcome"))
        )

    original_names = {spec.name for spec in specs}
    expected = set(original_names) | {c for name in original_names for c in copies.get(name, [])}
    reports = []
    for spec in specs:
        report = JobReport(
            spec,
            Verdict.LEFT_RUNNING,
            dead_lettered=dead_by_job[spec.name] > 0,
            alerts=[a["action"] for a in alerts_by_job[spec.name]],
            outcomes=outcomes[spec.name],
            ledger_outcome=settled.get(spec.name.lower()),
            runs=runs.get(spec.name, []),
        )
        report.verdict, report.detail = _verdict(
            spec,
            described,
            tags,
            copies.get(spec.name, []),
            alerts_by_job[spec.name],
            report.dead_lettered,
            fields,
            report.runs,
        )
        reports.append(report)

    duplicate_alerts = sum(
        n - 1
        for alerts in alerts_by_job.values()
        for n in Counter(a["action"] for a in alerts).values()
        if n > 1
    )
    return CampaignReport(
        jobs=reports,
        invocations=len(invocations),
        lambda_attempts=sum(i.attempts for i in invocations),
        dead_letters=len(dead),
        dead_lettered_copies=sum(
            n for name, n in dead_by_job.items() if name not in original_names
        ),
        unexpected_jobs=sorted(set(names) - expected),
        duplicate_alerts=duplicate_alerts,
        seconds=0.0,
    )


def _verdict(
    spec: JobSpec,
    described: Mapping[str, Mapping[str, Any]],
    tags: Mapping[str, Mapping[str, str]],
    copies: list[str],
    alerts: list[dict[str, Any]],
    dead_lettered: bool,
    fields: list[str],
    runs: Sequence[Run],
) -> tuple[Verdict, str]:
    original = described[spec.name]
    status = original["TrainingJobStatus"]
    actions = Counter(a["action"] for a in alerts)

    if spec.profile.obstacle == "refused":
        return _refused_verdict(spec, status, copies, alerts, dead_lettered, runs)
    if not spec.profile.must_relaunch:
        if copies or status != "InProgress" or REMEDIATION_TAG in tags[spec.name]:
            return Verdict.TOUCHED_COMPLIANT, f"status {status}, copies {copies}"
        needs_alert = spec.profile.name == "exempt" or spec.profile.obstacle == "unrelaunchable"
        if needs_alert and not actions["notified"] and not dead_lettered:
            return Verdict.EXEMPT_NOT_NOTIFIED, f"alerts {dict(actions)}"
        return Verdict.LEFT_RUNNING, ""

    if len(copies) > 1:
        return Verdict.DOUBLE_RELAUNCH, f"copies {copies}"
    if copies:
        copy = described[copies[0]]
        differences = configuration_differences(original, copy, fields)
        if (
            differences
            or copy.get("EnableInterContainerTrafficEncryption") is not True
            or copy["TrainingJobStatus"] != "InProgress"
        ):
            return Verdict.BAD_COPY, f"differs in {differences}, status {copy['TrainingJobStatus']}"
        if status not in STOPPED_STATES:
            return Verdict.BAD_COPY, f"original still {status} beside its copy"
        if actions["relaunched"] and tags[spec.name].get(REMEDIATION_TAG) == "relaunched":
            return Verdict.REMEDIATED, ""
        if dead_lettered and (actions["relaunched"] or actions["failed"]):
            return Verdict.DEAD_LETTERED_RELAUNCHED, ""
        return (
            Verdict.UNCONFIRMED,
            f"alerts {dict(actions)}, tag {tags[spec.name].get(REMEDIATION_TAG)}",
        )

    if status == "InProgress":
        if dead_lettered:
            return Verdict.DEAD_LETTERED_UNTOUCHED, ""
        return Verdict.LOST, f"alerts {dict(actions)}"
    failed = [a for a in alerts if a["action"] == "failed" and a.get("relaunch_request")]
    if (
        dead_lettered
        and failed
        and not configuration_differences(original, failed[-1]["relaunch_request"], fields)
    ):
        return Verdict.DEAD_LETTERED_STOPPED_ALERTED, ""
    silent = silent_failures_after_stop(runs)
    if dead_lettered and not alerts and runs_after_stop(runs) and not silent:
        return Verdict.DEAD_LETTERED_STOPPED_SNS_DOWN, ""
    reasons = "; ".join(a["reason"] for a in alerts)
    return Verdict.STOPPED_NOT_RELAUNCHED, (
        f"status {status}, dead-lettered {dead_lettered}, alerts {dict(actions)}: {reasons}"
        + (f"; run(s) {silent} failed after the stop without trying to alert" if silent else "")
    )


def _refused_verdict(
    spec: JobSpec,
    status: str,
    copies: list[str],
    alerts: list[dict[str, Any]],
    dead_lettered: bool,
    runs: Sequence[Run],
) -> tuple[Verdict, str]:
    """A job whose encrypted copy SageMaker refuses: it must end running (untouched, its event
    dead-lettered) or stopped with the refusal's `failed` alert carrying the request. A repeat of
    that alert is counted with the other duplicate alerts (an SNS publish whose answer was lost is
    sent again by botocore's retry); the guard's own runs never send it twice (tests/unit)."""
    if copies:
        return Verdict.BAD_COPY, f"a refused copy exists: {copies}"
    if status == "InProgress":
        if dead_lettered:
            return (Verdict.DEAD_LETTERED_UNTOUCHED, "")
        return (Verdict.LOST, "not stopped, not dead-lettered")
    refusals = [a for a in alerts if a["action"] == "failed" and a.get("action_needed") and a.get("relaunch_request")]
    if refusals:
        return Verdict.REFUSED_SETTLED, ""
    failed = [a for a in alerts if a["action"] == "failed" and a.get("relaunch_request")]
    if dead_lettered and (failed or (not alerts and runs_after_stop(runs))):
        return Verdict.DEAD_LETTERED_STOPPED_ALERTED if failed else Verdict.DEAD_LETTERED_STOPPED_SNS_DOWN, ""
    return Verdict.REFUSED_SILENT, f"alerts {[a['action'] for a in alerts]}, dead-lettered {dead_lettered}"


def dumps(report: CampaignReport) -> str:
    """Machine-readable figures (for the README and for comparing runs)."""
    data: dict[str, Any] = {
        "jobs": len(report.jobs),
        "seconds": round(report.seconds, 2),
        "invocations": report.invocations,
        "lambda_attempts": report.lambda_attempts,
        "dead_letters": report.dead_letters,
        "verdicts": {v.value: n for v, n in report.verdicts.items()},
        "duplicate_alerts": report.duplicate_alerts,
    }
    if report.injector is not None:
        data["faults"] = report.injector.by_kind()
        data["http_attempts"] = report.injector.total_attempts
    return json.dumps(data, sort_keys=True)
