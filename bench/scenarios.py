"""The guard's paths, one entry each: the user's call that starts a job, the policy the guard
runs with, and which call is the stop. Adding a path is adding one `Path` to `PATHS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.account import BenchAccount, Invocation
from bench.calls import CallLog


@dataclass(frozen=True)
class Subject:
    """What a path started: the job's name, and the strings (by role: job, group0, …) that a
    replay of the guard's calls for another subject must substitute."""

    name: str
    tokens: dict[str, str] = field(default_factory=dict)


Starter = Callable[[BenchAccount, str], Subject]


@dataclass(frozen=True)
class Path:
    key: str
    title: str
    start: Starter
    policy: dict[str, str] = field(default_factory=dict)  # function environment overrides
    stop_operation: str | None = None  # the call that must be the first to change the account


def _training(**request: Any) -> Starter:
    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"
        account.sandbox.create_training_job(name, **request)
        return Subject(name, {"job": name})

    return start


def _training_in_fresh_groups(**request: Any) -> Starter:
    """A job in a VPC whose two groups lack every IPsec rule (new groups per run, so the repair
    does the same work each time)."""

    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"
        groups = account.fresh_security_groups(tag)
        vpc = {"SecurityGroupIds": groups, "Subnets": account.env.subnet_ids}
        account.sandbox.create_training_job(name, VpcConfig=vpc, **request)
        return Subject(name, {"job": name, **{f"group{i}": g for i, g in enumerate(groups)}})

    return start


def _tuning(**request: Any) -> Starter:
    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"[:32]
        account.sandbox.create_tuning_job(name, **request)
        return Subject(name, {"job": name})

    return start


def _processing(**request: Any) -> Starter:
    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"
        account.sandbox.create_processing_job(name, **request)
        return Subject(name, {"job": name})

    return start


def _automl(**request: Any) -> Starter:
    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"[:32]
        account.sandbox.create_automl_job(name, **request)
        return Subject(name, {"job": name})

    return start


def _schedule(*, definition: bool = False, **request: Any) -> Starter:
    def start(account: BenchAccount, tag: str) -> Subject:
        name = f"{tag}"
        if definition:
            account.sandbox.create_data_quality_job_definition(f"{name}-dq", vpc=False)
            request["definition"] = f"{name}-dq"
        account.sandbox.create_monitoring_schedule(name, **request)
        return Subject(name, {"job": name})

    return start


STOP_TRAINING = "StopTrainingJob"
STOP_TUNING = "StopHyperParameterTuningJob"

NOTIFY = {"REMEDIATION_MODE": "notify"}
# A job a SageMaker Pipelines step started: never re-launched behind the pipeline's back.
PIPELINE_TAGS = {
    "sagemaker:pipeline-execution-arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x1",
    "sagemaker:pipeline-step-name": "TrainStep",
}
STOP = {"REMEDIATION_MODE": "stop"}

PATHS: tuple[Path, ...] = (
    Path("ignored", "ignored: 1 instance, unencrypted", _training(instance_count=1, vpc=False)),
    Path("notify", "notify: mode notify, unencrypted", _training(vpc=False), NOTIFY),
    Path("stop", "stop: mode stop, unencrypted", _training(vpc=False), STOP,
         stop_operation=STOP_TRAINING),
    Path("relaunch", "re-launch, no VPC (no group repair)", _training(vpc=False),
         stop_operation=STOP_TRAINING),
    Path("relaunch-sg", "re-launch + security-group repair (VPC)", _training_in_fresh_groups(),
         stop_operation=STOP_TRAINING),
    Path("sg-check", "encrypted VPC job: group repair only",
         _training_in_fresh_groups(encrypted=True)),
    Path("tuning", "tuning job: stop and encrypted copy (no VPC)", _tuning(encrypted=False, vpc=False),
         stop_operation=STOP_TUNING),
    Path("unrelaunchable", "pipeline step in relaunch mode: left running, action needed",
         _training(vpc=False, tags=PIPELINE_TAGS)),
    Path("processing", "processing job: stop and encrypted copy (no VPC)", _processing(vpc=False),
         stop_operation="StopProcessingJob"),
    Path("automl-v1", "AutoML job (CreateAutoMLJob): stop and encrypted V2 copy (no VPC)",
         _automl(vpc=False), stop_operation="StopAutoMLJob"),
    Path("automl-v2", "AutoML job (CreateAutoMLJobV2): stop and encrypted copy (no VPC)",
         _automl(vpc=False, v2=True), stop_operation="StopAutoMLJob"),
    Path("schedule", "monitoring schedule, inline definition: updated in place (no VPC)", _schedule(vpc=False)),
    Path("schedule-definition", "monitoring schedule running a job definition: encrypted copy + update",
         _schedule(vpc=False, definition=True)),
)  # fmt: skip


def path_by_key(key: str) -> Path:
    return next(p for p in PATHS if p.key == key)


@dataclass
class PathRun:
    path: Path
    subject: Subject
    invocation: Invocation
    follow_up_events: int  # events the guard's own calls routed back to the function

    @property
    def log(self) -> CallLog:
        return self.invocation.log


def start_subject(account: BenchAccount, path: Path, tag: str) -> tuple[Subject, dict[str, Any]]:
    """Start the path's job as a user would and return the event the rules routed for it."""
    account.configure(**path.policy)
    subject = path.start(account, tag)
    events = account.routed_events()
    mine = [e for e in events if _names_job(e, subject.name)]
    if not mine:
        raise AssertionError(
            f"{path.key}: no event routed for {subject.name}; got {len(events)} other(s)"
        )
    return subject, mine[0]


def run_path(account: BenchAccount, path: Path, tag: str) -> PathRun:
    subject, event = start_subject(account, path, tag)
    invocation = account.invoke(event)
    follow_ups = len(account.routed_events())
    outcome = invocation.result.get("outcome") if isinstance(invocation.result, dict) else None
    if outcome in (None, "malformed"):
        raise AssertionError(f"{path.key}: handler returned {invocation.result!r}")
    return PathRun(path, subject, invocation, follow_ups)


def _names_job(event: dict[str, Any], name: str) -> bool:
    detail = event.get("detail") or {}
    request = detail.get("requestParameters") or {}
    names = {
        request.get("trainingJobName"),
        request.get("hyperParameterTuningJobName"),
        request.get("processingJobName"),
        request.get("autoMLJobName"),
        request.get("monitoringScheduleName"),
        detail.get("HyperParameterTuningJobName"),  # SageMaker's own state-change events
    }
    response = detail.get("responseElements") or {}
    arns = [v for v in response.values() if isinstance(v, str)]
    return name in names or any(arn.endswith("/" + name) for arn in arns)
