"""The policy of DESIGN.md as one pure function: described job + settings + history -> decision."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ict_guard.jobs import JOB_APIS, Job, RemediationTag
from ict_guard.settings import RemediationMode, Settings


class Action(enum.StrEnum):
    NOTHING = "nothing"
    LEAVE_TO_PARENT = "leave-to-parent"
    NOTIFY = "notify"
    REPAIR_SECURITY_GROUPS = "repair-security-groups"
    STOP = "stop"
    RELAUNCH = "relaunch"
    RESUME = "resume"  # finish what the guard started on this job before a crash or timeout
    # the guard recorded its intent, but the job ended by itself before its stop took effect
    ENDED_BEFORE_STOP = "ended-before-stop"


class Intent(enum.StrEnum):
    """What the guard set out to do to a job, recorded durably before it stops the job."""

    STOP = "stop"
    RELAUNCH = "relaunch"


@dataclass(frozen=True)
class History:
    """What an earlier invocation did to this job, from the ledger or the job's own tags."""

    intent: Intent
    settled: bool


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str


ENDED_BY_ITSELF = frozenset({"Completed", "Failed"})


def history_from_tag(value: str | None) -> History | None:
    """A fallback for when the ledger has no record: the tag the guard wrote after its stop."""
    match value:
        case RemediationTag.RELAUNCH_PENDING:
            return History(Intent.RELAUNCH, settled=False)
        case RemediationTag.RELAUNCHED:
            return History(Intent.RELAUNCH, settled=True)
        case RemediationTag.STOPPED:
            return History(Intent.STOP, settled=True)
        case RemediationTag.RELAUNCH_REFUSED:
            return History(Intent.RELAUNCH, settled=True)
    return None


def needs_history(job: Job) -> bool:
    """Only an unencrypted job that is no longer running can carry unfinished guard work, and a
    resource the guard encrypts in place (its update done, its alert perhaps not)."""
    if JOB_APIS[job.kind].in_place:
        return job.encrypted or not job.in_progress  # updated, or stopped (stop mode)
    return not job.encrypted and not job.in_progress


def decide(job: Job, settings: Settings, history: History | None = None) -> Decision:
    """Decide in the order of DESIGN.md; the first rule that applies wins."""
    if job.parent_arn and job.parent_kind is not None:
        return Decision(Action.LEAVE_TO_PARENT, f"launched by {job.parent_arn}; remediated through it")
    if job.tags.get(settings.exempt_tag_key, "").strip().lower() == "true":
        return Decision(Action.NOTIFY, f"exempt by tag {settings.exempt_tag_key}=true; not touched")
    if not job.instances_decided_by_service and job.instance_count < settings.min_instance_count:
        return Decision(
            Action.NOTHING,
            f"{job.instance_count} instance(s), below the minimum of {settings.min_instance_count}: "
            "encryption has no effect",
        )
    if job.encrypted:
        if history is not None and not history.settled and JOB_APIS[job.kind].in_place:
            return Decision(Action.RESUME, "encrypted in place by the guard; its alert and tags are finished now")
        if settings.repair_security_groups and job.security_group_sets:
            return Decision(Action.REPAIR_SECURITY_GROUPS, "encrypted; VPC groups need IPsec rules")
        return Decision(Action.NOTHING, "inter-container traffic encryption is on")
    if not job.in_progress:
        if history is not None and not history.settled and job.status in ENDED_BY_ITSELF:
            # The guard's stop makes a job Stopping/Stopped, never Completed or Failed: the intent
            # was recorded, but the job finished (or failed) before any stop of the guard's took
            # effect. Finished work is never re-launched.
            return Decision(
                Action.ENDED_BEFORE_STOP,
                f"unencrypted; the job ended ({job.status}) before the guard could stop it, so it is not re-launched",
            )
        if history is not None and not history.settled:
            return Decision(Action.RESUME, f"{_what(job)}; stopped by the guard, its {history.intent} finished now")
        if history is not None:
            return Decision(Action.NOTHING, f"already remediated by the guard ({history.intent})")
        return Decision(Action.NOTIFY, f"unencrypted but {job.status}; finished work is never re-launched")
    what = _what(job)
    if job.parent_arn:
        # Launched by something that is not a kind the guard remediates (every parent a Describe
        # names today is one; this is for a parent SageMaker adds later): stopping or copying the
        # child would fight its parent, which starts the next one the same way. A person turns
        # encryption on where the child comes from.
        return Decision(
            Action.NOTIFY,
            f"{what}, launched by {job.parent_arn}: the guard does not stop or copy it; turn encryption on in "
            f"{job.parent_arn.rsplit(':', 1)[-1]}",
        )
    match settings.mode:
        case RemediationMode.NOTIFY:
            return Decision(Action.NOTIFY, f"{what}; mode is notify")
        case RemediationMode.STOP:
            return Decision(Action.STOP, f"{what}; mode is stop")
    # Whether the job can be re-launched as the same workload (its copy, its pipeline, its role)
    # is the plan's preflight: plan.plan_remediation.
    return Decision(Action.RELAUNCH, f"{what}; mode is relaunch")


def _what(job: Job) -> str:
    if job.unencrypted_definitions:
        return f"unencrypted distributed training definition(s) {', '.join(job.unencrypted_definitions)}"
    if job.instances_decided_by_service:
        return (
            f"unencrypted {JOB_APIS[job.kind].label} (SageMaker decides its instance counts, so the training and "
            "processing jobs it launches may be distributed)"
        )
    return f"unencrypted distributed {JOB_APIS[job.kind].label}"
