"""The job guard: one event in, one job evaluated, decided on, remediated and reported.

Order of AWS calls on the remediation path, and why:
  DescribeTrainingJob, ListTags      the reads the decision needs (the event is only a hint)
  ledger PutItem                     the durable intent + re-launch request, before the stop
  StopTrainingJob                    the first call that changes the account: stop the traffic
  AddTags relaunch-pending           visible to people while the rest happens
  Describe/Authorize/CreateTags (EC2) IPsec rules the encrypted copy needs
  CreateTrainingJob                  the copy, under a deterministic name (a repeat is ResourceInUse)
  AddTags relaunched, SNS Publish, ledger UpdateItem
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore.exceptions import ClientError

from ict_guard.alerts import Alert, AlertAction, AlertPublisher
from ict_guard.clone import build_encrypted_training_clone
from ict_guard.errors import (
    DescribedOtherJob,
    JobGone,
    error_code,
    is_sagemaker_describe_not_found,
)
from ict_guard.events import FailedCall, JobKind, MalformedEvent, parse_job_call
from ict_guard.jobs import (
    RELAUNCHED_FROM_TAG,
    REMEDIATION_TAG,
    RemediationTag,
    TrainingJob,
    tags_to_dict,
)
from ict_guard.ledger import LedgerEntry, RemediationLedger
from ict_guard.policy import Action, Decision, Intent, decide, history_from_tag, needs_history
from ict_guard.security_groups import RepairResult, SecurityGroupRepairer
from ict_guard.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_sagemaker import SageMakerClient


@dataclass(frozen=True)
class JobRef:
    """What the event says about the job; the idempotency key is `key`."""

    key: str
    kind: str
    name: str
    account: str
    region: str
    event_id: str
    initiated_by: str | None
    metric_definitions_sent: bool | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRef:
        return cls(**data)


@dataclass
class Run:
    """Progress of one remediation, so that a failure can say what was done and what was not."""

    ref: JobRef
    decision: Decision
    plan: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    relaunch_request: dict[str, Any] | None = None

    def step(self, description: str) -> None:
        self.done.append(description)

    @property
    def pending(self) -> list[str]:
        return self.plan[len(self.done) :]


IdempotencyWrapper = Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]


class JobGuard:
    def __init__(
        self,
        *,
        settings: Settings,
        sagemaker: SageMakerClient,
        security_groups: SecurityGroupRepairer,
        alerts: AlertPublisher,
        ledger: RemediationLedger,
        logger: Logger,
        metrics: Metrics,
        region: str,
        idempotent: IdempotencyWrapper | None = None,
    ) -> None:
        self._settings = settings
        self._sagemaker = sagemaker
        self._security_groups = security_groups
        self._alerts = alerts
        self._ledger = ledger
        self._logger = logger
        self._metrics = metrics
        self._region = region
        self._remediate_once = idempotent(self._remediate) if idempotent else self._remediate

    # -- entry point ----------------------------------------------------------------------------

    def handle(self, event: Any, account: str | None = None) -> dict[str, Any]:
        """Handle one EventBridge event; `account` is the function's own account, if known."""
        try:
            call = parse_job_call(event)
        except MalformedEvent as exc:
            self._logger.warning(
                "malformed event dropped, not retried",
                extra={"reason": exc.reason, "event_id": exc.event_id},
            )
            self._count("MalformedEvents")
            return {"outcome": "malformed", "reason": exc.reason}
        except FailedCall as exc:
            self._logger.info(
                "failed API call, nothing was created",
                extra={"error_code": exc.error_code, "event_id": exc.event_id},
            )
            self._count("FailedCallEvents")
            return {"outcome": "ignored", "reason": str(exc)}

        if call.region != self._region or (account and call.account != account):
            reason = f"event for {call.account}/{call.region}, this guard runs in {account}/{self._region}"
            self._logger.warning("event for another account or region dropped", extra={"reason": reason})
            self._count("MalformedEvents")
            return {"outcome": "malformed", "reason": reason}

        self._logger.append_keys(job_name=call.name, cloudtrail_event=call.event_name)
        self._count("JobEventsEvaluated")
        ref = JobRef(
            key=f"{call.kind.value}/{call.name.lower()}",
            kind=call.kind.value,
            name=call.name,
            account=call.account,
            region=call.region,
            event_id=call.event_id,
            initiated_by=call.initiated_by,
            metric_definitions_sent=call.metric_definitions_sent,
        )
        try:
            return self._remediate_once(job=asdict(ref))
        except IdempotencyAlreadyInProgressError:
            # Another invocation holds this job right now; it finishes the work or, if it dies,
            # its own retries and the dead-letter queue do. A second remediation must not start.
            self._logger.info("job is being remediated by a concurrent invocation")
            self._count("ConcurrentDuplicateEvents")
            return {"outcome": "in-progress-elsewhere", "job": call.name}

    def on_duplicate(self, response: Any, record: Any) -> Any:
        """Powertools idempotency hook: a repeated event gets the first outcome, and is counted."""
        self._logger.info("duplicate event; the job was already handled", extra={"outcome": response})
        self._count("DuplicateEvents")
        return response

    # -- decision -------------------------------------------------------------------------------

    def _remediate(self, job: dict[str, Any]) -> dict[str, Any]:
        ref = JobRef.from_dict(job)
        if ref.kind != JobKind.TRAINING:
            raise ValueError(f"unsupported job kind {ref.kind}")
        try:
            described = self._describe_training_job(ref.name)
        except JobGone:
            self._logger.info("job not found; nothing to do")
            self._count("JobsNotFound")
            return {"outcome": "not-found", "job": ref.name}
        except DescribedOtherJob as exc:
            self._logger.error("describe answered for another job; acting on nothing", extra={"reason": str(exc)})
            self._count("MalformedEvents")
            return {"outcome": "mismatch", "job": ref.name, "reason": str(exc)}

        tags = self._list_tags(described["TrainingJobArn"])
        job_facts = TrainingJob.from_describe(described, tags)
        entry: LedgerEntry | None = None
        history = None
        if needs_history(job_facts):
            entry = self._ledger.lookup(ref.key)
            history = entry.history if entry else history_from_tag(job_facts.remediation_tag)
        decision = decide(job_facts, self._settings, history)
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
            return self._execute(run, job_facts, described, tags, entry)
        except Exception as exc:
            self._count("RemediationFailures")
            if run.done:
                self._alert_failure(run, job_facts, exc)
            raise

    # -- actions --------------------------------------------------------------------------------

    def _execute(
        self,
        run: Run,
        job: TrainingJob,
        described: dict[str, Any],
        tags: dict[str, str],
        entry: LedgerEntry | None,
    ) -> dict[str, Any]:
        action = run.decision.action
        outcome: dict[str, Any] = {"outcome": action.value, "job": job.name, "reason": run.decision.reason}
        if action is Action.NOTHING:
            return outcome
        if action is Action.LEAVE_TO_PARENT:
            self._count("ChildJobEventsAcknowledged")
            return outcome
        if action is Action.NOTIFY:
            self._publish(self._alert(AlertAction.NOTIFIED, run, job))
            self._count("JobsNotified")
            return {**outcome, "alert": AlertAction.NOTIFIED.value}
        if action is Action.REPAIR_SECURITY_GROUPS:
            return {**outcome, **self._repair_only(run, job)}
        if action is Action.STOP or (action is Action.RESUME and entry_intent(entry, job) is Intent.STOP):
            return {**outcome, **self._stop_only(run, job)}
        return {**outcome, **self._relaunch(run, job, described, tags, entry)}

    def _repair_only(self, run: Run, job: TrainingJob) -> dict[str, Any]:
        run.plan = ["add the missing IPsec rules"]
        repair = self._repair(job.security_group_ids)
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

    def _stop_only(self, run: Run, job: TrainingJob) -> dict[str, Any]:
        if run.decision.action is Action.STOP:
            run.plan = ["record the intent", f"stop {job.name}", "tag it", "alert"]
            self._ledger.record(run.ref.key, Intent.STOP, None)
            run.step("recorded the intent to stop")
            if not self._stop(job):
                return self._ended_before_stop(run, job)
            run.step(f"stopped {job.name}")
        else:
            run.plan = [f"tag {job.name}", "alert"]
        self._tag(job, RemediationTag.STOPPED)
        run.step(f"tagged {job.name} {REMEDIATION_TAG}={RemediationTag.STOPPED}")
        self._publish(self._alert(AlertAction.STOPPED, run, job))
        self._ledger.settle(run.ref.key, AlertAction.STOPPED)
        return {"alert": AlertAction.STOPPED.value}

    def _relaunch(
        self,
        run: Run,
        job: TrainingJob,
        described: dict[str, Any],
        tags: dict[str, str],
        entry: LedgerEntry | None,
    ) -> dict[str, Any]:
        request = (entry.relaunch_request if entry else None) or build_encrypted_training_clone(
            described,
            tags,
            self._sagemaker.meta.service_model,
            metric_definitions_sent=run.ref.metric_definitions_sent,
        )
        run.relaunch_request = request
        new_name = request["TrainingJobName"]
        group_ids = tuple((request.get("VpcConfig") or {}).get("SecurityGroupIds") or ())
        repair_groups = self._settings.repair_security_groups and bool(group_ids)
        run.plan = [
            *(
                ["record the re-launch request", f"stop {job.name}", f"tag {job.name} {RemediationTag.RELAUNCH_PENDING}"]
                if run.decision.action is Action.RELAUNCH
                else []
            ),
            *(["check and repair the security groups"] if repair_groups else []),
            f"create {new_name} with encryption on",
            f"tag {job.name} {RemediationTag.RELAUNCHED}",
            "alert",
        ]
        if run.decision.action is Action.RELAUNCH:
            self._ledger.record(run.ref.key, Intent.RELAUNCH, request)
            run.step("recorded the re-launch request")
            if not self._stop(job):
                return self._ended_before_stop(run, job)
            run.step(f"stopped {job.name}")
            self._tag(job, RemediationTag.RELAUNCH_PENDING)
            run.step(f"tagged {job.name} {RemediationTag.RELAUNCH_PENDING}")

        repair = RepairResult(group_ids)
        if repair_groups:
            repair = self._repair(group_ids)
            run.step("checked the security groups" + (f": {len(repair.added)} rule(s) added" if repair.added else ""))
        created = self._create_training_job(request)
        run.step(f"created {new_name}" if created else f"found {new_name} already created")
        if created:
            self._count("JobsRelaunched")
        self._tag(job, RemediationTag.RELAUNCHED)
        run.step(f"tagged {job.name} {RemediationTag.RELAUNCHED}")
        self._publish(self._alert(AlertAction.RELAUNCHED, run, job, repair=repair, relaunched_as=new_name))
        self._ledger.settle(run.ref.key, AlertAction.RELAUNCHED)
        return {
            "relaunched_as": new_name,
            "created": created,
            "rules_added": len(repair.added),
            "problems": repair.problems,
            "alert": AlertAction.RELAUNCHED.value,
        }

    def _ended_before_stop(self, run: Run, job: TrainingJob) -> dict[str, Any]:
        """The job left InProgress between describe and stop: it finished on its own."""
        self._ledger.settle(run.ref.key, "ended-before-stop")
        run.step("found the job already ended; nothing stopped")
        run.plan = list(run.done) + ["alert"]
        alert = self._alert(AlertAction.NOTIFIED, run, job)
        alert.reason = "unencrypted; the job ended before the guard could stop it, so it is not re-launched"
        self._publish(alert)
        return {"alert": AlertAction.NOTIFIED.value, "ended_before_stop": True}

    # -- AWS edges ------------------------------------------------------------------------------

    def _describe_training_job(self, name: str) -> dict[str, Any]:
        try:
            described = self._sagemaker.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if is_sagemaker_describe_not_found(exc):
                raise JobGone(name) from exc
            raise
        if str(described.get("TrainingJobName", "")).lower() != name.lower():
            raise DescribedOtherJob(f"asked for {name!r}, got {described.get('TrainingJobName')!r}")
        return described

    def _list_tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self._sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update(tags_to_dict(page.get("Tags", [])))
        return tags

    def _stop(self, job: TrainingJob) -> bool:
        """Stop the job; False when it had already left InProgress by itself."""
        try:
            self._sagemaker.stop_training_job(TrainingJobName=job.name)
        except ClientError as exc:
            # SageMaker refuses to stop a job that is not InProgress with ValidationException;
            # ask describe what the job is doing rather than read the message text.
            if error_code(exc) != "ValidationException":
                raise
            try:
                status = self._describe_training_job(job.name)["TrainingJobStatus"]
            except JobGone:
                return False
            if status == "InProgress":
                raise
            return False
        self._count("JobsStopped")
        return True

    def _tag(self, job: TrainingJob, value: RemediationTag) -> None:
        self._sagemaker.add_tags(ResourceArn=job.arn, Tags=[{"Key": REMEDIATION_TAG, "Value": value.value}])

    def _create_training_job(self, request: dict[str, Any]) -> bool:
        """Create the copy; False when an earlier attempt already did (the name is deterministic)."""
        try:
            self._sagemaker.create_training_job(**request)
        except ClientError as exc:
            if error_code(exc) == "ResourceInUse":
                return False
            raise
        return True

    def _repair(self, group_ids: tuple[str, ...]) -> RepairResult:
        repair = self._security_groups.repair(group_ids)
        if repair.added:
            self._count("SecurityGroupRulesAdded", len(repair.added))
            self._count("SecurityGroupsRepaired", len(repair.changed_groups))
        if repair.problems:
            self._count("SecurityGroupRepairProblems", len(repair.problems))
            self._logger.warning("security groups not fully repaired", extra={"problems": repair.problems})
        return repair

    # -- alerts and metrics ---------------------------------------------------------------------

    def _alert(
        self,
        action: AlertAction,
        run: Run,
        job: TrainingJob,
        *,
        repair: RepairResult | None = None,
        relaunched_as: str | None = None,
    ) -> Alert:
        return Alert(
            action=action,
            resource_type=run.ref.kind,
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
            steps_done=list(run.done),
            steps_pending=[],
            exempt_tag_key=self._settings.exempt_tag_key,
        )

    def _alert_failure(self, run: Run, job: TrainingJob, exc: Exception) -> None:
        alert = self._alert(AlertAction.FAILED, run, job)
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        alert.reason = f"{run.decision.reason}; stopped part-way by {code}; Lambda will retry"
        alert.steps_pending = run.pending
        alert.relaunch_request = run.relaunch_request
        try:
            self._publish(alert)
        except Exception:  # the original failure is what Lambda must see; this one is only logged
            self._logger.exception("could not publish the failure alert")

    def _publish(self, alert: Alert) -> None:
        message_id = self._alerts.publish(alert)
        self._count(f"Alerts{alert.action.value.title().replace('_', '')}")
        self._logger.info("alert published", extra={"alert_action": alert.action.value, "message_id": message_id})

    def _count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def entry_intent(entry: LedgerEntry | None, job: TrainingJob) -> Intent | None:
    """What a resumed remediation set out to do: the ledger's word, else the job's tag."""
    if entry is not None:
        return entry.intent
    history = history_from_tag(job.remediation_tag)
    return history.intent if history else None
