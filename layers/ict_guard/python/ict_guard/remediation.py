"""The job guard: one job evaluated, decided on, remediated and reported, exactly once.

Order of AWS calls on the remediation path, and why:
  Describe*, ListTags                the reads the decision needs (the event is only a hint)
  ledger PutItem                     the durable intent + re-launch request, before the stop
  Stop*                              the first call that changes the account: stop the traffic
  AddTags relaunch-pending           visible to people while the rest happens
  EC2 Describe/Authorize/CreateTags  the IPsec rules the encrypted copy needs
  Create*                            the copy, under a deterministic name (a repeat: ResourceInUse)
  AddTags relaunched, SNS Publish, ledger UpdateItem
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore import xform_name
from botocore.exceptions import ClientError

from ict_guard.alerts import Alert, AlertAction, AlertPublisher
from ict_guard.clone import build_encrypted_clone, warm_start_from
from ict_guard.errors import (
    DescribedOtherJob,
    JobBusy,
    JobGone,
    StillStopping,
    error_code,
    is_sagemaker_describe_not_found,
)
from ict_guard.events import is_state_change, parse_job_call, parse_state_change
from ict_guard.intake import admit
from ict_guard.jobs import (
    IN_PROGRESS,
    JOB_APIS,
    RELAUNCHED_FROM_TAG,
    REMEDIATION_TAG,
    Job,
    JobApi,
    JobKind,
    RemediationTag,
    security_group_sets,
    tags_to_dict,
)
from ict_guard.ledger import LedgerEntry, RemediationLedger
from ict_guard.policy import Action, Decision, Intent, decide, history_from_tag, needs_history
from ict_guard.security_groups import RepairResult, SecurityGroupRepairer
from ict_guard.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_sagemaker import SageMakerClient

    from ict_guard.findings import SecurityHubFindings

# A tuning job is a warm-start parent only once it is Stopped, and its stop waits for its running
# training jobs (minutes). The guard does not wait in the function: the copy is created when
# SageMaker's state-change event says Stopped (or the sweep finds it so). If the original is still
# not Stopped this long after the guard stopped it, the copy is created without the warm start.
STOP_WAIT_LIMIT_SECONDS = 30 * 60
_TERMINAL = {"Completed", "Failed", "Stopped"}
_STOPPED = {"Stopping", "Stopped"}


@dataclass(frozen=True)
class JobRef:
    """The job an event (or a sweep) names; the idempotency key is `key`."""

    key: str
    kind: str
    name: str
    account: str
    region: str
    event_id: str
    initiated_by: str | None = None
    metric_definitions_sent: tuple[bool | None, ...] = ()
    # "remediate": decide and act; "resume": only finish a re-launch the guard owes (a stopped
    # tuning job's copy). A separate idempotency scope, so a resume is not answered by the
    # record of the run that stopped the job.
    purpose: str = "remediate"

    @classmethod
    def for_job(
        cls,
        kind: JobKind,
        name: str,
        *,
        account: str,
        region: str,
        event_id: str,
        initiated_by: str | None = None,
        metric_definitions_sent: tuple[bool | None, ...] = (),
    ) -> JobRef:
        # SageMaker names are unique regardless of case, and ARNs carry them in lower case.
        return cls(
            key=f"{kind.value}/{name.lower()}",
            kind=kind.value,
            name=name,
            account=account,
            region=region,
            event_id=event_id,
            initiated_by=initiated_by,
            metric_definitions_sent=tuple(metric_definitions_sent),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRef:
        return cls(**{**data, "metric_definitions_sent": tuple(data.get("metric_definitions_sent") or ())})

    @property
    def api(self) -> JobApi:
        return JOB_APIS[JobKind(self.kind)]


@dataclass
class Evaluation:
    """Everything the decision was made from, and the decision."""

    api: JobApi
    described: dict[str, Any]
    tags: dict[str, str]
    job: Job
    entry: LedgerEntry | None
    decision: Decision


@dataclass
class Run:
    """Progress of one remediation, so that a failure can say what was done and what was not."""

    ref: JobRef
    decision: Decision
    plan: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    relaunch_request: dict[str, Any] | None = None

    def step(self, description: str) -> None:
        self.done.append(description)

    @property
    def pending(self) -> list[str]:
        return self.plan[len(self.done) :]


def describe_job(sagemaker: SageMakerClient, api: JobApi, name: str) -> dict[str, Any]:
    """Describe* of one job (raises JobGone, DescribedOtherJob)."""
    try:
        described = getattr(sagemaker, xform_name(api.describe_operation))(**{api.name_member: name})
    except ClientError as exc:
        if is_sagemaker_describe_not_found(exc):
            raise JobGone(name) from exc
        raise
    answered = str(described.get(api.name_member, ""))
    if answered.lower() != name.lower():
        raise DescribedOtherJob(f"asked for {name!r}, got {answered!r}")
    return described


def list_job_tags(sagemaker: SageMakerClient, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update(tags_to_dict(page.get("Tags", [])))
    return tags


def evaluate_job(
    sagemaker: SageMakerClient,
    settings: Settings,
    ref: JobRef,
    ledger: RemediationLedger | None = None,
) -> Evaluation:
    """Read what the decision needs and decide, changing nothing (raises JobGone,
    DescribedOtherJob). The job guard and the CLI's `explain` both run exactly this; without a
    ledger the history of an ended job comes from its remediation tag."""
    api = ref.api
    described = describe_job(sagemaker, api, ref.name)
    tags = list_job_tags(sagemaker, described[api.arn_member])
    job = Job.from_describe(api, described, tags)
    entry = None
    history = None
    if needs_history(job):
        entry = ledger.lookup(ref.key) if ledger is not None else None
        history = entry.history if entry else history_from_tag(job.remediation_tag)
    return Evaluation(api, described, tags, job, entry, decide(job, settings, history))


IdempotencyWrapper = Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]


class JobGuard:
    def __init__(
        self,
        *,
        settings: Settings,
        sagemaker: SageMakerClient,
        security_groups: SecurityGroupRepairer,
        alerts: AlertPublisher,
        ledger: RemediationLedger | None,
        logger: Logger,
        metrics: Metrics,
        region: str,
        idempotent: IdempotencyWrapper | None = None,
        clock: Callable[[], float] = time.time,
        findings: SecurityHubFindings | None = None,
    ) -> None:
        self._settings = settings
        self._sagemaker = sagemaker
        self._security_groups = security_groups
        self._alerts = alerts
        self._findings = findings
        self._ledger = ledger
        self._logger = logger
        self._metrics = metrics
        self._region = region
        self._clock = clock
        self._remediate_once = idempotent(self._remediate) if idempotent else self._remediate

    # -- entry points ---------------------------------------------------------------------------

    def handle(self, event: Any, account: str | None = None) -> dict[str, Any]:
        """Handle one EventBridge event; `account` is the function's own account, if known."""
        if is_state_change(event):
            return self._handle_state_change(event, account)
        call, rejected = admit(
            event, parse_job_call, logger=self._logger, count=self._count, region=self._region, account=account
        )
        if call is None:
            return rejected or {}
        self._logger.append_keys(job_name=call.name, job_kind=call.kind.value, cloudtrail_event=call.event_name)
        self._count("JobEventsEvaluated")
        return self.remediate(
            JobRef.for_job(
                call.kind,
                call.name,
                account=call.account,
                region=call.region,
                event_id=call.event_id,
                initiated_by=call.initiated_by,
                metric_definitions_sent=call.metric_definitions_sent,
            )
        )

    def _handle_state_change(self, event: Any, account: str | None) -> dict[str, Any]:
        change, rejected = admit(
            event, parse_state_change, logger=self._logger, count=self._count, region=self._region, account=account
        )
        if change is None:
            return rejected or {}
        self._logger.append_keys(job_name=change.name, job_kind=change.kind.value, state_change=change.status)
        self._count("StateChangeEventsEvaluated")
        ref = JobRef.for_job(change.kind, change.name, account=change.account, region=change.region, event_id=change.event_id)
        return self.resume_if_owed(ref)

    def resume_if_owed(self, ref: JobRef, *, busy_is_ok: bool = False) -> dict[str, Any]:
        """Finish a re-launch the guard owes this job (a tuning job it stopped, whose copy waits
        for the stop); anything else is left alone, without an alert."""
        return self.remediate(replace(ref, purpose="resume"), busy_is_ok=busy_is_ok)

    def remediate(self, ref: JobRef, *, busy_is_ok: bool = False) -> dict[str, Any]:
        """Remediate one job at most once, whoever asks (an event, a child's event, a sweep).

        A job whose idempotency record is INPROGRESS raises JobBusy: the holder may be a
        concurrent invocation, but it may also be this very invocation's own lock whose PutItem
        answer was lost (botocore's retry then fails the condition on it), or a crashed run's.
        Raising lets Lambda retry after the lock expires (it lasts the function's timeout);
        returning would drop the event. `busy_is_ok` is for callers another path backs up: a
        tuning job's training-job events (the parent's own event and the sweep), and the sweep
        (the next sweep).
        """
        try:
            return self._remediate_once(job=asdict(ref))
        except IdempotencyAlreadyInProgressError as exc:
            self._logger.info("job is being remediated elsewhere", extra={"job": ref.key, "busy_is_ok": busy_is_ok})
            self._count("ConcurrentDuplicateEvents")
            if busy_is_ok:
                return {"outcome": "in-progress-elsewhere", "job": ref.name}
            raise JobBusy(ref.key) from exc

    def evaluate(self, ref: JobRef) -> Evaluation:
        """Read what the decision needs and decide, changing nothing (see `evaluate_job`)."""
        return evaluate_job(self._sagemaker, self._settings, ref, self._ledger)

    def on_duplicate(self, response: Any, record: Any) -> Any:
        """Powertools idempotency hook: a repeated event gets the first outcome, marked as a
        repeat (the sweeper tells its catches from jobs already handled by it), and is counted."""
        self._logger.info("duplicate event; the job was already handled", extra={"outcome": response})
        self._count("DuplicateEvents")
        return {**response, "duplicate": True} if isinstance(response, dict) else response

    # -- decision -------------------------------------------------------------------------------

    def _remediate(self, job: dict[str, Any]) -> dict[str, Any]:
        ref = JobRef.from_dict(job)
        try:
            evaluation = self.evaluate(ref)
        except JobGone:
            self._logger.info("job not found; nothing to do")
            self._count("JobsNotFound")
            return {"outcome": "not-found", "job": ref.name}
        except DescribedOtherJob as exc:
            self._logger.error("describe answered for another job; acting on nothing", extra={"reason": str(exc)})
            self._count("MalformedEvents")
            return {"outcome": "mismatch", "job": ref.name, "reason": str(exc)}

        job_facts, decision = evaluation.job, evaluation.decision
        if ref.purpose == "resume" and decision.action is not Action.RESUME:
            return {"outcome": "nothing-owed", "job": ref.name, "reason": decision.reason}
        self._logger.info(
            "decision",
            extra={
                "action": decision.action.value,
                "reason": decision.reason,
                "status": job_facts.status,
                "encrypted": job_facts.encrypted,
                "instance_count": job_facts.instance_count,
            },
        )
        run = Run(ref, decision)
        try:
            return self._execute(run, evaluation)
        except StillStopping:
            raise
        except Exception as exc:
            self._count("RemediationFailures")
            # Once the job is stopped (by this run, or by an earlier one that this run resumes),
            # every failing run says so: the earlier run's alert may never have been sent.
            if run.done or decision.action is Action.RESUME:
                self._alert_failure(run, job_facts, exc)
            raise

    # -- actions --------------------------------------------------------------------------------

    def _execute(self, run: Run, evaluation: Evaluation) -> dict[str, Any]:
        job, action = evaluation.job, run.decision.action
        outcome: dict[str, Any] = {"outcome": action.value, "job": job.name, "reason": run.decision.reason}
        if action is Action.NOTHING:
            return outcome
        if action is Action.LEAVE_TO_PARENT:
            self._count("ChildJobEventsAcknowledged")
            if job.parent_kind is None or job.parent_name is None:
                return outcome  # AutoML parents are outside the guard's scope
            parent = JobRef.for_job(
                job.parent_kind,
                job.parent_name,
                account=run.ref.account,
                region=run.ref.region,
                event_id=run.ref.event_id,
                initiated_by=run.ref.initiated_by,
            )
            return {**outcome, "parent": self.remediate(parent, busy_is_ok=True)}
        if action is Action.NOTIFY:
            self._publish(self._alert(AlertAction.NOTIFIED, run, job))
            self._count("JobsNotified")
            return {**outcome, "alert": AlertAction.NOTIFIED.value}
        if action is Action.REPAIR_SECURITY_GROUPS:
            return {**outcome, **self._repair_only(run, job)}
        if action is Action.STOP or (action is Action.RESUME and _resumed_intent(evaluation) is Intent.STOP):
            return {**outcome, **self._stop_only(run, evaluation)}
        return {**outcome, **self._relaunch(run, evaluation)}

    def _repair_only(self, run: Run, job: Job) -> dict[str, Any]:
        run.plan = ["add the missing IPsec rules"]
        repair = self._repair(job.security_group_sets)
        if repair.added:
            run.step("added the missing IPsec rules")
            alert = self._alert(AlertAction.SECURITY_GROUPS_REPAIRED, run, job, repair=repair)
        elif repair.problems and RELAUNCHED_FROM_TAG in job.tags:
            # The guard's own re-launch: the alert about its re-launch already named these problems.
            return {"rules_added": 0, "problems": repair.problems}
        elif repair.problems:
            alert = self._alert(AlertAction.FAILED, run, job, repair=repair)
            alert.reason = "encrypted job whose security groups could not be repaired"
        else:
            return {"rules_added": 0}
        self._publish(alert)
        return {"rules_added": len(repair.added), "problems": repair.problems, "alert": alert.action.value}

    def _stop_only(self, run: Run, evaluation: Evaluation) -> dict[str, Any]:
        job, api = evaluation.job, evaluation.api
        if run.decision.action is Action.STOP:
            run.plan = ["record the intent", f"stop {job.name}", "tag it", "alert"]
            self._record(run.ref, Intent.STOP, None)
            run.step("recorded the intent to stop")
            if not self._stop(api, job):
                return self._ended_before_stop(run, job)
            run.step(f"stopped {job.name}")
        else:
            run.plan = [f"tag {job.name}", "alert"]
        self._tag(job, RemediationTag.STOPPED)
        run.step(f"tagged {job.name} {REMEDIATION_TAG}={RemediationTag.STOPPED}")
        self._publish(self._alert(AlertAction.STOPPED, run, job))
        self._settle(run.ref, AlertAction.STOPPED)
        return {"alert": AlertAction.STOPPED.value}

    def _relaunch(self, run: Run, evaluation: Evaluation) -> dict[str, Any]:
        job, api = evaluation.job, evaluation.api
        entry = evaluation.entry
        request = (entry.relaunch_request if entry else None) or build_encrypted_clone(
            api,
            evaluation.described,
            evaluation.tags,
            self._sagemaker.meta.service_model,
            metric_definitions_sent=run.ref.metric_definitions_sent,
        )
        run.relaunch_request = request
        new_name = request[api.name_member]
        group_sets = security_group_sets(api.kind, request)
        repair_groups = self._settings.repair_security_groups and bool(group_sets)
        first_time = run.decision.action is Action.RELAUNCH
        run.plan = [
            *(
                ["record the re-launch request", f"stop {job.name}", f"tag {job.name} {RemediationTag.RELAUNCH_PENDING}"]
                if first_time
                else []
            ),
            *(["check and repair the security groups"] if repair_groups else []),
            f"create {new_name} with encryption on",
            f"tag {job.name} {RemediationTag.RELAUNCHED}",
            "alert",
        ]
        if first_time:
            self._record(run.ref, Intent.RELAUNCH, request)
            run.step("recorded the re-launch request")
            if not self._stop(api, job):
                return self._ended_before_stop(run, job)
            run.step(f"stopped {job.name}")
            self._tag(job, RemediationTag.RELAUNCH_PENDING)
            run.step(f"tagged {job.name} {RemediationTag.RELAUNCH_PENDING}")

        repair = RepairResult(())
        if repair_groups:
            repair = self._repair(group_sets)
            run.step("checked the security groups" + (f": {len(repair.added)} rule(s) added" if repair.added else ""))
        if api.kind is JobKind.TUNING:
            recorded_at = entry.recorded_at if entry and entry.recorded_at else self._clock()
            request = self._tuning_copy(run, api, job, request, recorded_at)
            if request is None:
                # The copy waits for the original to stop (SageMaker's state-change event, or
                # the sweep, resumes it); the ledger keeps the re-launch owed.
                self._count("RelaunchesWaitingForStop")
                if repair.added and self._ledger is not None:
                    self._ledger.remember_rules(run.ref.key, repair.summary())
                if run.ref.purpose == "resume":
                    raise StillStopping(job.name)
                return {"relaunched_as": None, "relaunch_pending": True, "rules_added": len(repair.added)}
        created = self._create(api, request)
        run.step(f"created {new_name}" if created else f"found {new_name} already created")
        if created:
            self._count("JobsRelaunched")
        self._tag(job, RemediationTag.RELAUNCHED)
        run.step(f"tagged {job.name} {RemediationTag.RELAUNCHED}")
        alert = self._alert(AlertAction.RELAUNCHED, run, job, repair=repair, relaunched_as=new_name)
        if entry is not None and entry.rules_added:  # added by the run that stopped the job
            alert.rules_added = [*entry.rules_added, *alert.rules_added]
            alert.security_groups = sorted({r["group_id"] for r in alert.rules_added})
        self._publish(alert)
        self._settle(run.ref, AlertAction.RELAUNCHED)
        return {
            "relaunched_as": new_name,
            "created": created,
            "rules_added": len(repair.added),
            "problems": repair.problems,
            "notes": run.notes,
            "alert": AlertAction.RELAUNCHED.value,
        }

    def _tuning_copy(
        self, run: Run, api: JobApi, job: Job, request: dict[str, Any], recorded_at: float
    ) -> dict[str, Any] | None:
        """The tuning copy's request, warm-starting from the stopped original (see
        clone.warm_start_from) once SageMaker accepts it as a parent; None while it is still
        stopping, so that the copy does not start its search over."""
        warm, reason = warm_start_from(request, job.name)
        if reason is not None:
            run.notes.append(f"the copy starts its search over: {reason}")
            return request
        status = self._describe(api, job.name)[api.status_member]
        if status in _TERMINAL:
            run.notes.append(f"the copy warm-starts from {job.name} and does not repeat its completed training jobs")
            return warm
        waited = self._clock() - recorded_at
        if waited >= STOP_WAIT_LIMIT_SECONDS:
            run.notes.append(
                f"the copy starts its search over: {job.name} was still {status} {waited / 60:.0f} min after the stop"
            )
            return request
        return None

    def _ended_before_stop(self, run: Run, job: Job) -> dict[str, Any]:
        """The job left InProgress between describe and stop: it finished on its own."""
        self._settle(run.ref, "ended-before-stop")
        run.step("found the job already ended; nothing stopped")
        run.plan = [*run.done, "alert"]
        alert = self._alert(AlertAction.NOTIFIED, run, job)
        alert.reason = "unencrypted; the job ended before the guard could stop it, so it is not re-launched"
        self._publish(alert)
        return {"alert": AlertAction.NOTIFIED.value, "ended_before_stop": True}

    # -- AWS edges ------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return getattr(self._sagemaker, xform_name(operation))(**kwargs)

    def _describe(self, api: JobApi, name: str) -> dict[str, Any]:
        return describe_job(self._sagemaker, api, name)

    def _stop(self, api: JobApi, job: Job) -> bool:
        """Stop the job; False when it had already ended by itself (Completed or Failed)."""
        try:
            self._call(api.stop_operation, **{api.name_member: job.name})
        except ClientError as exc:
            # SageMaker refuses to stop a job that is not InProgress with ValidationException;
            # ask describe what the job is doing rather than read the message text.
            if error_code(exc) != "ValidationException":
                raise
            try:
                status = self._describe(api, job.name)[api.status_member]
            except JobGone:
                return False
            if status == IN_PROGRESS:
                raise
            if status not in _STOPPED:
                return False
            # Stopping or Stopped right after the guard asked: its own earlier attempt of this
            # call stopped it and the answer was lost (botocore's retry then meets the stopped
            # job). The intent is recorded, so the work goes on as after a stop.
        self._count("JobsStopped")
        return True

    def _tag(self, job: Job, value: RemediationTag) -> None:
        self._sagemaker.add_tags(ResourceArn=job.arn, Tags=[{"Key": REMEDIATION_TAG, "Value": value.value}])

    def _create(self, api: JobApi, request: dict[str, Any]) -> bool:
        """Create the copy; False when an earlier attempt already did (the name is deterministic)."""
        try:
            self._call(api.create_operation, **request)
        except ClientError as exc:
            if error_code(exc) == "ResourceInUse":
                return False
            raise
        return True

    def _repair(self, group_sets: tuple[tuple[str, ...], ...]) -> RepairResult:
        repair = RepairResult(tuple(g for groups in group_sets for g in groups))
        for groups in group_sets:
            part = self._security_groups.repair(groups)
            repair.added += part.added
            repair.problems += part.problems
        if repair.added:
            self._count("SecurityGroupRulesAdded", len(repair.added))
            self._count("SecurityGroupsRepaired", len(repair.changed_groups))
        if repair.problems:
            self._count("SecurityGroupRepairProblems", len(repair.problems))
            self._logger.warning("security groups not fully repaired", extra={"problems": repair.problems})
        return repair

    def _record(self, ref: JobRef, intent: Intent, request: dict[str, Any] | None) -> None:
        if self._ledger is not None:
            self._ledger.record(ref.key, intent, request)

    def _settle(self, ref: JobRef, outcome: str) -> None:
        if self._ledger is not None:
            self._ledger.settle(ref.key, outcome)

    # -- alerts and metrics ---------------------------------------------------------------------

    def _alert(
        self,
        action: AlertAction,
        run: Run,
        job: Job,
        *,
        repair: RepairResult | None = None,
        relaunched_as: str | None = None,
    ) -> Alert:
        return Alert(
            action=action,
            resource_type=job.kind.value,
            name=job.name,
            arn=job.arn,
            account=run.ref.account,
            region=run.ref.region,
            event_id=run.ref.event_id,
            reason=run.decision.reason,
            mode=self._settings.mode.value,
            initiated_by=run.ref.initiated_by,
            instance_count=job.instance_count,
            relaunched_as=relaunched_as,
            security_groups=repair.changed_groups if repair else [],
            rules_added=repair.summary() if repair else [],
            problems=list(repair.problems) if repair else [],
            notes=[*run.notes, *_sweep_note(run.ref)],
            steps_done=list(run.done),
            steps_pending=[],
            exempt_tag_key=self._settings.exempt_tag_key,
            encrypted=job.encrypted,
        )

    def _alert_failure(self, run: Run, job: Job, exc: Exception) -> None:
        alert = self._alert(AlertAction.FAILED, run, job)
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        alert.reason = f"{run.decision.reason}; stopped part-way by {code}; Lambda will retry"
        alert.steps_pending = run.pending
        alert.relaunch_request = run.relaunch_request
        if run.relaunch_request is not None and self._ledger is not None:
            alert.relaunch_request_location = self._ledger.location(run.ref.key)
        try:
            self._publish(alert)
        except Exception:  # the original failure is what Lambda must see; this one is only logged
            self._logger.exception("could not publish the failure alert")

    def _publish(self, alert: Alert) -> None:
        message_id = self._alerts.publish(alert)
        self._count(f"Alerts{alert.action.value.title().replace('_', '')}")
        self._logger.info("alert published", extra={"alert_action": alert.action.value, "message_id": message_id})
        if self._findings is not None:
            # After the alert: Security Hub is a second view of it, and never raises.
            self._findings.report(alert)

    def _count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


SWEEP_EVENT_PREFIX = "sweep:"


def _sweep_note(ref: JobRef) -> list[str]:
    if not ref.event_id.startswith(SWEEP_EVENT_PREFIX):
        return []
    return ["found by the scheduled sweep: the CloudTrail event never reached the guard, or late"]


def _resumed_intent(evaluation: Evaluation) -> Intent | None:
    """What a resumed remediation set out to do: the ledger's word, else the job's tag."""
    if evaluation.entry is not None:
        return evaluation.entry.intent
    history = history_from_tag(evaluation.job.remediation_tag)
    return history.intent if history else None
