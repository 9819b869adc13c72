"""Runs a RemediationPlan against AWS, one step at a time, recording each step done.

What was done is what a failure alert reports. Two answers from AWS change the rest of the plan
(by replacing the steps left with a pure function of plan.py): the job ended by itself before the
stop (`ended_before_stop`), and SageMaker refused the copy and every fallback, or its name is
someone else's, or the account's quota is too small (`copy_refused`). A copy that needs the
instances its stopping original holds raises CopyWaitsForCapacity, without a failed alert. Every
other error is raised after a failed alert: Lambda retries, and the ledger written before the stop
lets the retry finish the work.

A plain stop records its intent before the Stop* as well: its alert is owed afterwards, and a
retry that finds the job stopped must know the stop was the guard's to send it (a write sent
with the stop instead, one round trip sooner, let a lost write and lost alerts end in a MEDIUM
`notified` alert on the retry, and a write whose answer was lost leave owed work for the sweep:
review findings O1, O2 in tests/reliability/test_overlap_review_findings.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ict_guard.alerts import Alert, AlertAction
from ict_guard.errors import CapacityHeld, CopyRefused, CopyWaitsForCapacity, JobGone, NotStoppable, error_code
from ict_guard.fallbacks import FALLBACKS, is_guard_copy, is_own_copy
from ict_guard.jobs import (
    API_BY_KIND,
    CONFIGURATION_MEMBER,
    IN_PROGRESS,
    JOB_APIS,
    RELAUNCHED_FROM_TAG,
    REMEDIATION_TAG,
    JobApi,
    RemediationTag,
    configuration_digest,
)
from ict_guard.outcomes import Outcome
from ict_guard.plan import RemediationPlan, copy_refused, ended_before_stop
from ict_guard.policy import Action
from ict_guard.reporting import run_alert
from ict_guard.runs import Run, Subject
from ict_guard.security_groups import RepairResult
from ict_guard.steps import (
    CreateCopy,
    Publish,
    RecordIntent,
    RecordNotified,
    RemediateParent,
    RepairGroups,
    Settle,
    Step,
    StopChild,
    StopJob,
    TagOriginal,
    UpdateInPlace,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger

    from ict_guard.ledger import RemediationLedger
    from ict_guard.ports import SageMakerJobs
    from ict_guard.reporting import Reporter
    from ict_guard.security_groups import GroupRepairs
    from ict_guard.settings import Settings

_STOPPED = {"Stopping", "Stopped"}


def _stopped_earlier(subject: Subject) -> bool:
    """Whether the work a resumed run finishes follows a stop: a job's copy (or its alert) after
    its stop, a schedule the guard stopped; not a schedule updated in place, which runs encrypted
    and is owed only its alert and tag."""
    return not subject.api.in_place or not subject.job.in_progress


class Executor:
    def __init__(
        self,
        *,
        settings: Settings,
        sagemaker: SageMakerJobs,
        security_groups: GroupRepairs,
        ledger: RemediationLedger | None,
        reporter: Reporter,
        logger: Logger,
        remediate_parent: Callable[[Subject, RemediateParent], dict[str, Any]] | None = None,
    ) -> None:
        self._settings = settings
        self._sagemaker = sagemaker
        self._groups = security_groups
        self._ledger = ledger
        self._reporter = reporter
        self._logger = logger
        self._remediate_parent = remediate_parent

    def execute(self, plan: RemediationPlan, subject: Subject) -> Run:
        """Run every step of `plan`; raises what AWS raised, after a `failed` alert when the job
        was already stopped (by this run, or an earlier one this run resumes)."""
        run = Run(plan, subject, notes=list(plan.notes), remaining=list(plan.steps))
        run.request = dict(plan.relaunch_request) if plan.relaunch_request is not None else None
        try:
            while run.remaining:
                step = run.remaining[0]
                self._run_step(step, run)
                if run.remaining and run.remaining[0] is step:
                    run.remaining.pop(0)
        except CopyWaitsForCapacity:
            raise  # not a failure: Lambda retries once the original has released its instances
        except Exception as exc:
            self._reporter.count("RemediationFailures")
            # A person is alerted when this run stopped something (a job stopped without its copy,
            # an execution stopped without its schedule's fix) or finishes an earlier run's work.
            # Before that nothing is worse than before the event: Lambda retries, and the
            # dead-letter queue (with its alarm) keeps the event if every attempt fails: one fact,
            # not one alert per attempt.
            if run.stopped or (plan.action is Action.RESUME and _stopped_earlier(subject)):
                self._alert_failure(run, exc)
            raise
        return run

    # -- steps ------------------------------------------------------------------------------------

    def _run_step(self, step: Step, run: Run) -> None:
        subject = run.subject
        match step:
            case RecordIntent():
                if self._ledger is not None:
                    request = dict(step.request) if step.request else None
                    self._ledger.record(subject.key, step.intent, request, job_name=subject.job.name)
                run.done.append(step.describe())
            case RecordNotified():
                if self._ledger is not None and run.alert is not None:
                    try:
                        self._ledger.record_notified(subject.key, step.version)
                    except Exception:  # the alert is out: a retry would repeat it
                        self._logger.exception("could not record the configuration alerted on")
            case StopJob():
                try:
                    stopped = self._stop(subject)
                except Exception:
                    # An answer lost after the stop took effect (botocore's retries spent) still
                    # leaves the job stopped: say so in the failure alert. A stop that was
                    # refused (an SCP, throttling) stopped nothing: no alert per attempt.
                    run.stopped = self._found_stopped(subject)
                    raise
                run.stopped = stopped
                if stopped:
                    run.done.append(f"stopped {step.name}")
                else:
                    run.ended_before_stop = True
                    run.done.append("found the job already ended; nothing stopped")
                    run.remaining = [step, *ended_before_stop()]
            case TagOriginal() if step.arn is not None:
                # Another resource (a job definition a schedule ran): a refusal (its 50 tags, or it
                # is gone) is said in the alert's notes, never a failed remediation.
                try:
                    self._sagemaker.add_tags(step.arn, {REMEDIATION_TAG: step.value.value})
                except ClientError as exc:
                    if error_code(exc) not in ("ValidationException", "ResourceNotFound"):
                        raise
                    run.notes.append(f"{step.name} could not be tagged {REMEDIATION_TAG}={step.value}: {exc}")
            case TagOriginal():
                self._sagemaker.add_tags(subject.job.arn, {REMEDIATION_TAG: step.value.value})
                run.tagged = step.value
                run.done.append(f"tagged {step.name} {REMEDIATION_TAG}={step.value}")
            case UpdateInPlace():
                self._update(step, run)
            case StopChild():
                try:
                    self._sagemaker.stop(JOB_APIS[step.kind], step.name)
                except (NotStoppable, JobGone):
                    run.done.append(f"found {step.name} already ended")
                else:
                    run.stopped = True
                    self._reporter.count("JobsStopped")
                    run.done.append(f"stopped {step.name}")
            case RepairGroups():
                run.repair = self._repair(step.group_sets)
                added = f": {len(run.repair.added)} rule(s) added" if run.repair.added else ""
                run.done.append("checked the security groups" + added)
            case CreateCopy():
                self._create(step, run)
            case Publish():
                self._publish(step, run)
            case Settle():
                self._settle(step, run)
            case RemediateParent():
                if self._remediate_parent is not None:
                    run.parent = self._remediate_parent(subject, step)

    def _found_stopped(self, subject: Subject) -> bool:
        try:
            status = self._sagemaker.describe(subject.api, subject.job.name)[subject.api.status_member]
        except Exception:  # unknown: assume it may be stopped, and alert
            return True
        return status in _STOPPED

    def _stop(self, subject: Subject) -> bool:
        """Stop the job; False when it had already ended by itself (Completed or Failed)."""
        api, name = subject.api, subject.job.name
        try:
            self._sagemaker.stop(api, name)
        except NotStoppable:
            try:
                status = self._sagemaker.describe(api, name)[api.status_member]
            except JobGone:
                return False
            if status == IN_PROGRESS:
                raise
            if status not in _STOPPED:
                return False
            # Stopping or Stopped right after the guard asked: its own earlier attempt of this
            # call stopped it and the answer was lost (botocore's retry then meets the stopped
            # job). The intent is recorded, so the work goes on as after a stop.
        self._reporter.count("JobsStopped")
        return True

    def _create(self, step: CreateCopy, run: Run) -> None:
        """Create the copy; on a refusal try each fallback once (cumulatively), then settle.

        Two answers are not about the request: a taken name (ResourceInUse) is accepted only when
        the job under it is the guard's own copy (an earlier attempt); a quota the stopping
        original still holds (ResourceLimitExceeded) waits for it to stop (CopyWaitsForCapacity,
        raised: Lambda retries; the sweep resumes a stopped job whose copy is owed)."""
        request = dict(step.request)
        tried: list[str] = []
        message: str | None = None
        api = API_BY_KIND[step.kind] if step.kind is not None else run.subject.api
        original = step.original or run.subject.job.name
        try:
            run.created_new = self._attempt(run, request, api, original)
        except CopyRefused as refused:
            message = refused.message
            for label, fallback in FALLBACKS:
                changed = fallback(request) if refused.fallbacks_help else None
                if changed is None:
                    continue
                request = changed
                tried.append(label)
                try:
                    run.created_new = self._attempt(run, request, api, original)
                except CopyRefused as again:
                    message = again.message
                    continue
                run.notes.append(f"SageMaker refused the copy as planned ({refused.message}); it was created {label}")
                if not any(t.get("Key") == RELAUNCHED_FROM_TAG for t in request.get("Tags") or []):
                    run.notes.append(
                        f"the copy has no {RELAUNCHED_FROM_TAG} tag: the link is in this alert and the ledger"
                    )
                message = None
                break
        if message is not None:
            run.request, run.request_api = request, (api if step.kind is not None else None)
            run.refusal = message
            self._reporter.count("RelaunchesRefused")
            if self._ledger is not None:
                self._ledger.record_refusal(run.subject.key, message, request, job_name=run.subject.job.name)
            if tried:
                run.notes.append("fallbacks tried, each refused: " + "; ".join(tried))
            run.done.append(f"SageMaker refused {step.name}; nothing created")
            run.remaining = [step, *copy_refused(message, run.subject.job)]
            return
        if step.kind is None:  # a definition's copy is one step; the request left is the plan's update
            run.request = request
        run.created = step.name
        run.done.append(f"created {step.name}" if run.created_new else f"found {step.name} already created")
        if run.created_new:
            self._reporter.count("JobsRelaunched")

    def _update(self, step: UpdateInPlace, run: Run) -> None:
        """The in-place kind's Update*. A refusal settles like a refused copy (nothing changed).

        Sent only while the resource is the one the request was built from (its LastModifiedTime):
        Update* replaces the whole configuration, and a change someone made since the guard read
        it would be undone without a word. That change's own event (or the sweep) judges it."""
        api = run.subject.api
        if step.configuration is not None:
            now = self._sagemaker.describe(api, step.name).get(CONFIGURATION_MEMBER)
            if configuration_digest(now) != step.configuration:
                self._reporter.count("UpdatesSuperseded")
                run.done.append(f"found {step.name} changed since it was read; left to that change's own event")
                run.remaining = [step, Settle("superseded")]
                return
        if step.tag_pending:
            self._sagemaker.add_tags(run.subject.job.arn, {REMEDIATION_TAG: RemediationTag.RELAUNCH_PENDING.value})
            run.tagged = RemediationTag.RELAUNCH_PENDING
        try:
            self._sagemaker.create(run.subject.api, dict(step.request))
        except CopyRefused as refused:
            run.refusal = refused.message
            run.request, run.request_api = dict(step.request), None  # the update is what is left to do
            self._reporter.count("RelaunchesRefused")
            if self._ledger is not None:
                self._ledger.record_refusal(
                    run.subject.key, refused.message, dict(step.request), job_name=run.subject.job.name
                )
            run.done.append(f"SageMaker refused the update of {step.name}; the schedule is unchanged")
            run.remaining = [step, *copy_refused(refused.message, run.subject.job, f"the update of {step.name}")]
            return
        run.done.append(f"updated {step.name} with encryption on")
        if self._ledger is not None:
            self._ledger.confirm(run.subject.key)
        self._reporter.count("SchedulesEncryptedInPlace")

    def _attempt(self, run: Run, request: dict[str, Any], api: JobApi, original_name: str) -> bool:
        """One Create* of `api` (the job's, or its definition's): True when created, False when the
        guard's own copy of `original_name` already exists."""
        original = run.subject.job
        try:
            if self._sagemaker.create(api, request):
                return True
        except CapacityHeld as held:
            own = run.subject.api
            status = self._sagemaker.describe(own, original.name)[own.status_member]
            if status == "Stopping":
                self._reporter.count("CopiesWaitingForCapacity")
                raise CopyWaitsForCapacity(original.name) from held
            # Stopped, and still no room: the account's quota, not the original's instances.
            raise CopyRefused(
                f"{held.message} (the original is {status}: the quota itself is too small)", fallbacks_help=False
            ) from held
        name = str(request[api.name_member])
        existing = self._sagemaker.describe(api, name)
        if not is_own_copy(api, existing, self._sagemaker.list_tags(existing[api.arn_member]), request, original_name):
            raise CopyRefused(
                f"the copy's name {name} is taken by a job that is not the guard's copy of {original_name}",
                fallbacks_help=False,
            )
        return False

    def _repair(self, group_sets: tuple[tuple[str, ...], ...]) -> RepairResult:
        repair = RepairResult(tuple(g for groups in group_sets for g in groups))
        for groups in group_sets:
            part = self._groups.repair(groups)
            repair.added += part.added
            repair.problems += part.problems
        if repair.added:
            self._reporter.count("SecurityGroupRulesAdded", len(repair.added))
            self._reporter.count("SecurityGroupsRepaired", len(repair.changed_groups))
        if repair.problems:
            self._reporter.count("SecurityGroupRepairProblems", len(repair.problems))
            self._logger.warning("security groups not fully repaired", extra={"problems": repair.problems})
        return repair

    def _publish(self, step: Publish, run: Run) -> None:
        action = step.action
        reason = step.reason
        # The tag as this run left it, else as the job had it when read.
        tag = run.tagged if run.tagged is not None else run.subject.job.remediation_tag
        if step.unless_tagged is not None and tag == step.unless_tagged:
            # The tag is written right after this alert: an earlier run sent it, and only its
            # settle was lost. Settling now is all that is left; the alert is not repeated.
            self._reporter.count("AlertsAlreadySent")
            run.done.append("found the alert already sent")
            return
        if step.only_if_parent_gone and (run.parent or {}).get("outcome") != Outcome.NOT_FOUND.value:
            return
        if step.only_if_repaired:
            job = run.subject.job
            if run.repair.added:
                pass
            elif run.repair.problems and is_guard_copy(job.name, job.tags):
                return  # the guard's own re-launch: its re-launch alert already named these problems
            elif run.repair.problems:
                action, reason = AlertAction.FAILED, "encrypted job whose security groups could not be repaired"
            else:
                return
        alert = self.alert(run, action, reason=reason, action_needed=step.action_needed)
        self._reporter.publish(alert)
        run.alert = action
        if action is AlertAction.NOTIFIED:
            self._reporter.count("JobsNotified")
        if step.action_needed:
            self._reporter.count("JobsNeedingAPerson")

    def _settle(self, step: Settle, run: Run) -> None:
        if self._ledger is None:
            return
        if run.alert is None:
            self._ledger.settle(run.subject.key, step.outcome)
            return
        try:
            self._ledger.settle(run.subject.key, step.outcome)
        except Exception:  # the alert went out: a retry would repeat it for a bookkeeping write
            self._logger.exception("could not settle the ledger after the alert", extra={"outcome": step.outcome})
            self._reporter.count("LedgerSettleFailures")

    # -- alerts -----------------------------------------------------------------------------------

    def alert(
        self,
        run: Run,
        action: AlertAction,
        *,
        reason: str | None = None,
        action_needed: bool = False,
        pending: list[str] | None = None,
    ) -> Alert:
        """The complete alert about this run (reporting.run_alert)."""
        return run_alert(
            run,
            action,
            settings=self._settings,
            ledger=self._ledger,
            reason=reason,
            action_needed=action_needed,
            pending=pending,
        )

    def _alert_failure(self, run: Run, exc: Exception) -> None:
        # botocore's ReadTimeoutError has a `response` attribute too (None): only a ClientError
        # carries an error code.
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        try:
            alert = self.alert(
                run,
                AlertAction.FAILED,
                reason=f"{run.plan.reason}; stopped part-way by {code}; Lambda will retry",
                pending=run.pending,
            )
            self._reporter.publish(alert)
        except Exception:  # the original failure is what Lambda must see; this one is only logged
            self._logger.exception("could not publish the failure alert")
