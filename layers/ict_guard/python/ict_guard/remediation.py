"""The job guard: one job evaluated, planned, remediated and reported, exactly once.

A short coordinator over the pure parts and the edges:
  evaluate   Describe*, ListTags (and the ledger for an ended job)  -> policy.decide
  plan       plan.plan_remediation: the steps, the copy and its preflight (pure)
  execute    executor.Executor runs the steps against SageMaker, EC2, the ledger and SNS
  run once   run_once.RunOnce: Powertools idempotency, duplicates, a held lock

Order of AWS calls on the remediation path (one line per round trip; calls on a line are sent
together), and why:
  1. idempotency PutItem + Describe* + ListTags: the lock, and the reads the decision needs (the
     event is only a hint). Reads change nothing: a duplicate or a held lock discards them, a
     failed read raises inside the lock (deleted by Powertools: the retry runs), and a read made
     with the lock is as good as one after it (the lock keeps runs of one record apart; a crashed
     holder's lock expires after it is gone). ListTags goes to JobRef.arn; if Describe* names
     another ARN, it is sent again, after it.
  2. ledger PutItem: the durable intent + re-launch request, before the stop
  3. Stop*: the first call that changes the account; then AddTags relaunch-pending, the EC2 calls
     of the copy's IPsec rules, Create* (a deterministic name), AddTags, SNS Publish, UpdateItem.
A plain stop too (its alert is owed afterwards: executor.py). Schedules keep the sequential order
(read before the lock anyway: JobRef.version).
The copy is built and checked against the service's rules before the stop; a job that cannot be
re-launched as the same workload follows UnrelaunchableJobAction instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from ict_guard.errors import DescribedOtherJob, JobGone, OwedWorkInProgress
from ict_guard.events import JobCall, parse_job_call
from ict_guard.executor import Executor
from ict_guard.intake import admit
from ict_guard.jobs import (
    CONFIGURATION_MEMBER,
    DEFINITION_APIS,
    JOB_APIS,
    MONITORING_TYPE_OF,
    RESOLVED_DEFINITION,
    RESOLVED_TAGS,
    Job,
    JobApi,
    JobKind,
    configuration_digest,
    get_path,
)
from ict_guard.outcomes import Outcome, Result, outcome_for
from ict_guard.overlap import Started
from ict_guard.plan import Hints, PlanInput, RemediationPlan, plan_remediation
from ict_guard.policy import Action, decide, history_from_tag, needs_history
from ict_guard.ports import BotoSageMakerJobs, SageMakerJobs
from ict_guard.run_once import Idempotency, RunOnce
from ict_guard.runs import Run, Subject
from ict_guard.state_changes import StateChange, is_state_change, parse_state_change
from ict_guard.steps import RemediateParent, RepairGroups

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from mypy_boto3_sagemaker import SageMakerClient

    from ict_guard.ledger import RemediationLedger
    from ict_guard.reporting import Reporter
    from ict_guard.security_groups import GroupRepairs
    from ict_guard.settings import Settings

SWEEP_EVENT_PREFIX = "sweep:"
# A resume (a state change, the sweep) leaves alone an owed remediation recorded less than this
# long ago: the run that recorded it may still be going (the function's timeout is 120 s), and
# two runs would both create (one finds ResourceInUse) and both alert.
RESUME_AFTER_SECONDS = 150


@dataclass(frozen=True)
class JobRef:
    """The job an event (or a sweep) names, with what only the event knows; the idempotency key
    is (`key`, `purpose`)."""

    key: str
    kind: str
    name: str
    account: str
    region: str
    event_id: str
    initiated_by: str | None = None
    acting_for: str | None = None
    metric_definitions_sent: tuple[bool | None, ...] = ()
    session_chaining: bool | None = None
    # "remediate": decide and act; "resume": only finish a re-launch the guard owes (a stopped
    # tuning job's copy). A separate idempotency scope, so a resume is not answered by the
    # record of the run that stopped the job.
    purpose: str = "remediate"
    # The configuration a resource the guard updates in place is judged in (a schedule's
    # LastModifiedTime): part of the idempotency key, not of the ledger's. A job is created once;
    # a schedule can be changed back after the guard fixed it, and each change is its own fact.
    version: str | None = None

    @classmethod
    def for_job(cls, kind: JobKind, name: str, *, account: str, region: str, event_id: str, **hints: Any) -> JobRef:
        # SageMaker names are unique regardless of case, and ARNs carry them in lower case.
        hints["metric_definitions_sent"] = tuple(hints.get("metric_definitions_sent") or ())
        return cls(f"{kind.value}/{name.lower()}", kind.value, name, account, region, event_id, **hints)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRef:
        return cls(**{**data, "metric_definitions_sent": tuple(data.get("metric_definitions_sent") or ())})

    @property
    def api(self) -> JobApi:
        return JOB_APIS[JobKind(self.kind)]

    @property
    def hints(self) -> Hints:
        return Hints(self.metric_definitions_sent, self.session_chaining)

    @property
    def found_by_sweep(self) -> bool:
        return self.event_id.startswith(SWEEP_EVENT_PREFIX)

    def arn(self, partition: str) -> str:
        """The job's ARN as SageMaker writes it (the name in lower case), built from the event and
        the client's partition: a guess until Describe* confirms it."""
        return f"arn:{partition}:sagemaker:{self.region}:{self.account}:{self.kind}/{self.name.lower()}"

    @property
    def handoff_key(self) -> tuple[str, str, str | None]:
        return (self.key, self.purpose, self.version)


@dataclass(frozen=True)
class DecisionReads:
    """Describe* and ListTags of one job, sent with the idempotency lock (round 1 above)."""

    arn: str  # where the ListTags went: JobRef.arn
    described: Started[dict[str, Any]]
    tags: Started[dict[str, str]]

    @classmethod
    def start(cls, sagemaker: SageMakerJobs, ref: JobRef) -> DecisionReads:
        api, arn = ref.api, ref.arn(sagemaker.partition)
        return cls(
            arn,
            Started(lambda: sagemaker.describe(api, ref.name), name="ict-guard-describe"),
            Started(lambda: sagemaker.list_tags(arn), name="ict-guard-list-tags"),
        )

    def tags_of(self, arn: str) -> dict[str, str] | None:
        return self.tags.result() if arn == self.arn else None

    def wait(self) -> None:
        self.described.wait()
        self.tags.wait()


Evaluation = PlanInput


def describe_job(sagemaker: SageMakerClient, api: JobApi, name: str) -> dict[str, Any]:
    """Describe* of one job through a boto3 client (raises JobGone, DescribedOtherJob)."""
    return BotoSageMakerJobs(sagemaker).describe(api, name)


def list_job_tags(sagemaker: SageMakerClient, arn: str) -> dict[str, str]:
    return BotoSageMakerJobs(sagemaker).list_tags(arn)


def resolve_definition(sagemaker: SageMakerJobs, api: JobApi, described: dict[str, Any]) -> dict[str, Any]:
    """The description with the job definition it runs by name (a schedule's
    MonitoringJobDefinitionName) read in under jobs.RESOLVED_DEFINITION, with its tags; unchanged
    for a kind without one, or when the definition is gone (the schedule then runs nothing)."""
    if api.definition_reference is None:
        return described
    name_path, type_path = api.definition_reference
    name, monitoring_type = get_path(described, name_path), get_path(described, type_path)
    definition_api = DEFINITION_APIS.get(str(monitoring_type))
    if not isinstance(name, str) or definition_api is None:
        return described
    try:
        definition = sagemaker.describe(definition_api, name)
    except JobGone:
        return described
    definition[RESOLVED_TAGS] = sagemaker.list_tags(definition[definition_api.arn_member])
    return {**described, RESOLVED_DEFINITION: definition}


def configuration_version(sagemaker: SageMakerJobs, api: JobApi, described: Mapping[str, Any]) -> str:
    """What a resource updated in place is judged in: a digest of its configuration, and the
    CreationTime of the job definition it names (deleting and creating a definition again under
    its name, the only way to change one, does not change the schedule). Not its LastModifiedTime,
    which may also move when it is stopped, started or scheduled (undocumented)."""
    version = configuration_digest(described.get(CONFIGURATION_MEMBER))
    if api.definition_reference is None:
        return version
    name_path, type_path = api.definition_reference
    name, definition_api = get_path(described, name_path), DEFINITION_APIS.get(str(get_path(described, type_path)))
    if not isinstance(name, str) or definition_api is None:
        return version
    try:
        definition = sagemaker.describe(definition_api, name)
    except JobGone:
        return f"{version}|{name} gone"
    return f"{version}|{name}@{definition.get('CreationTime')}"


def evaluate_job(
    sagemaker: SageMakerJobs,
    settings: Settings,
    ref: JobRef,
    ledger: RemediationLedger | None = None,
    reads: DecisionReads | None = None,
) -> Evaluation:
    """Read what the decision needs and decide, changing nothing (raises JobGone,
    DescribedOtherJob). The job guard and the CLI's `explain` both run exactly this; without a
    ledger the history of an ended job comes from its remediation tag. `reads`: Describe* and
    ListTags already sent; without them, they are made here in turn."""
    api = ref.api
    first = reads.described.result() if reads is not None else sagemaker.describe(api, ref.name)
    described = resolve_definition(sagemaker, api, first)
    arn = described[api.arn_member]
    prefetched = reads.tags_of(arn) if reads is not None else None
    tags = prefetched if prefetched is not None else sagemaker.list_tags(arn)
    job = Job.from_describe(api, described, tags)
    entry = None
    history = None
    if needs_history(job):
        entry = ledger.lookup(ref.key) if ledger is not None else None
        # A schedule's tag can outlive the work it named (a fix left to a newer change): only the
        # ledger says what is owed for it.
        fallback = None if api.in_place else history_from_tag(job.remediation_tag)
        history = entry.history if entry else fallback
    notified = ledger.notified_version(ref.key) if ledger is not None and api.in_place else None
    configuration = ref.version.partition("#")[2] if ref.version else None
    return PlanInput(
        api, described, tags, job, entry, decide(job, settings, history), ref.hints, configuration, notified
    )


class JobGuard:
    def __init__(
        self,
        *,
        settings: Settings,
        sagemaker: SageMakerJobs,
        security_groups: GroupRepairs,
        reporter: Reporter,
        ledger: RemediationLedger | None,
        logger: Logger,
        region: str,
        idempotency: Idempotency | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._sagemaker = sagemaker
        self._ledger = ledger
        self._logger = logger
        self._region = region
        self._reporter = self.reporter = reporter
        self._executor = Executor(
            settings=settings,
            sagemaker=sagemaker,
            security_groups=security_groups,
            ledger=ledger,
            reporter=reporter,
            logger=logger,
            remediate_parent=self._remediate_parent,
        )
        self.run_once = RunOnce(
            self._remediate, argument="job", idempotency=idempotency, reporter=reporter, logger=logger
        )
        # Reads sent before a run's lock, per thread (the sweep runs jobs on several; a child's run
        # nests its parent's) and JobRef.handoff_key; never in the payload Powertools stores.
        self._sent_reads = threading.local()

    @property
    def ledger(self) -> RemediationLedger | None:
        """The ledger this guard records its intents in (the sweep reads its owed work)."""
        return self._ledger

    # -- entry points ---------------------------------------------------------------------------

    def handle(self, event: Any, account: str | None = None) -> dict[str, Any]:
        """Handle one EventBridge event; `account` is the function's own account, if known."""
        parse: Callable[[Any], JobCall | StateChange] = parse_state_change if is_state_change(event) else parse_job_call
        call, rejected = admit(
            event, parse, logger=self._logger, count=self._reporter.count, region=self._region, account=account
        )
        if call is None:
            return rejected or {}
        if isinstance(call, StateChange):
            self._logger.append_keys(job_name=call.name, job_kind=call.kind.value, state_change=call.status)
            self._reporter.count("StateChangeEventsEvaluated")
            ref = JobRef.for_job(call.kind, call.name, account=call.account, region=call.region, event_id=call.event_id)
            return self.resume_if_owed(ref)
        self._logger.append_keys(job_name=call.name, job_kind=call.kind.value, cloudtrail_event=call.event_name)
        self._reporter.count("JobEventsEvaluated")
        if call.kind in MONITORING_TYPE_OF:
            return self.remediate_schedules_running(call)
        return self.remediate(
            JobRef.for_job(
                call.kind,
                call.name,
                account=call.account,
                region=call.region,
                event_id=call.event_id,
                initiated_by=call.initiated_by,
                acting_for=call.acting_for,
                metric_definitions_sent=call.metric_definitions_sent,
                session_chaining=call.session_chaining,
            ),
            send_reads=True,
        )

    def remediate_schedules_running(self, call: JobCall) -> dict[str, Any]:
        """A job definition was created without the flag: it runs nothing by itself, but the
        schedules that run it (one created before it under its name, when a definition is deleted
        and created again) are judged again, each in its new configuration (JobRef.version)."""
        names = self._sagemaker.schedules_running(call.name, MONITORING_TYPE_OF[call.kind])
        results = [
            self.remediate(
                JobRef.for_job(
                    JobKind.MONITORING_SCHEDULE,
                    name,
                    account=call.account,
                    region=call.region,
                    event_id=call.event_id,
                    initiated_by=call.initiated_by,
                    acting_for=call.acting_for,
                ),
                busy_is_ok=True,
            )
            for name in names
        ]
        reason = f"a job definition runs nothing by itself; {len(names)} schedule(s) run it"
        return Result(Outcome.NOTHING, call.name, reason=reason, details={"schedules": results}).as_dict()

    def resume_if_owed(self, ref: JobRef, *, busy_is_ok: bool = False) -> dict[str, Any]:
        """Finish a re-launch the guard owes this job (it stopped it and a run died before the
        copy); anything else is left alone, without an alert."""
        return self.remediate(replace(ref, purpose="resume"), busy_is_ok=busy_is_ok)

    def remediate(self, ref: JobRef, *, busy_is_ok: bool = False, send_reads: bool = False) -> dict[str, Any]:
        """Remediate one job at most once, whoever asks (an event, a child's event, a sweep).
        Raises JobBusy while another run holds the job, unless `busy_is_ok` (see run_once).

        `send_reads`: Describe* and ListTags go out with the lock (the event's own job, where the
        time to the stop counts). Not for a sweep, a parent or a resume: a job already judged
        (most of them) costs its idempotency read only, never a Describe (issue 14).

        For a kind updated in place, once per configuration: DescribeMonitoringSchedule (and
        Describe* of the job definition it names) first read its `configuration_version`
        (`JobRef.version`), so a repeated event, the sweep and a child's event share one record
        until someone changes the schedule, or re-creates its definition, again."""
        if ref.api.in_place and ref.version is None:
            try:
                described = self._sagemaker.describe(ref.api, ref.name)
            except (JobGone, DescribedOtherJob) as exc:
                return self._ended_quietly(ref, exc)
            # When it last changed, and what it is: a schedule changed back to an earlier
            # configuration is a new fact; one only stopped and started again is not alerted on
            # again (the plan compares the configuration part, PlanInput.configuration).
            changed = described.get("LastModifiedTime") or described.get("CreationTime")
            ref = replace(ref, version=f"{changed}#{configuration_version(self._sagemaker, ref.api, described)}")
        reads = self._send_reads(ref) if send_reads else None
        try:
            return self.run_once(asdict(ref), key=ref.key, subject=ref.name, busy_is_ok=busy_is_ok)
        finally:
            self._pending_reads().pop(ref.handoff_key, None)
            if reads is not None:
                reads.wait()  # nothing left running (a duplicate or a held lock discards them)

    def _pending_reads(self) -> dict[tuple[str, str, str | None], DecisionReads]:
        pending: dict[tuple[str, str, str | None], DecisionReads] | None = getattr(self._sent_reads, "by_key", None)
        if pending is None:
            pending = self._sent_reads.by_key = {}
        return pending

    def _send_reads(self, ref: JobRef) -> DecisionReads | None:
        """Describe* and ListTags sent now, with the lock; None for a schedule (read already)."""
        pending = self._pending_reads()
        if ref.api.in_place or ref.handoff_key in pending:
            return None
        reads = pending[ref.handoff_key] = DecisionReads.start(self._sagemaker, ref)
        return reads

    def evaluate(self, ref: JobRef, reads: DecisionReads | None = None) -> Evaluation:
        """Read what the decision needs and decide, changing nothing (see `evaluate_job`)."""
        return evaluate_job(self._sagemaker, self._settings, ref, self._ledger, reads)

    def plan(self, evaluation: Evaluation) -> RemediationPlan:
        return plan_remediation(evaluation, self._settings, self._sagemaker.service_model)

    # -- one run --------------------------------------------------------------------------------

    def _remediate(self, job: dict[str, Any]) -> dict[str, Any]:
        ref = JobRef.from_dict(job)
        try:
            evaluation = self.evaluate(ref, self._pending_reads().pop(ref.handoff_key, None))
        except (JobGone, DescribedOtherJob) as exc:
            return self._ended_quietly(ref, exc)

        facts, decision = evaluation.job, evaluation.decision
        if ref.purpose == "resume" and decision.action is not Action.RESUME:
            return Result(Outcome.NOTHING_OWED, ref.name, reason=decision.reason).as_dict()
        recorded_at = evaluation.entry.recorded_at if evaluation.entry is not None else None
        # A schedule the guard just updated is a new configuration, a new record: a sweep that
        # reaches it meanwhile would resume it while the run that updated it is still alerting.
        # (That run's own retries, an event's, go on at once: Lambda spaces them out.)
        in_place_resume = ref.api.in_place and decision.action is Action.RESUME and ref.found_by_sweep
        waits = ref.purpose == "resume" or in_place_resume
        if waits and recorded_at is not None and self._clock() - recorded_at < RESUME_AFTER_SECONDS:
            raise OwedWorkInProgress(ref.key)
        plan = self.plan(evaluation)
        self._logger.info(
            "decision",
            extra={
                "action": plan.action.value,
                "reason": plan.reason,
                "status": facts.status,
                "encrypted": facts.encrypted,
                "instance_count": facts.instance_count,
                "steps": plan.descriptions(),
            },
        )
        subject = Subject(
            key=ref.key,
            job=facts,
            api=evaluation.api,
            account=ref.account,
            region=ref.region,
            event_id=ref.event_id,
            initiated_by=ref.initiated_by,
            acting_for=ref.acting_for,
            found_by_sweep=ref.found_by_sweep,
            entry=evaluation.entry,
        )
        run = self._executor.execute(plan, subject)
        return Result(Outcome(plan.action.value), facts.name, reason=plan.reason, details=_details(plan, run)).as_dict()

    def _ended_quietly(self, ref: JobRef, exc: Exception) -> dict[str, Any]:
        """A job that is gone, or a describe that answered for another job: nothing to act on
        (outcomes.EXCEPTION_OUTCOMES), logged and counted, never retried."""
        outcome = outcome_for(exc)
        if outcome is None:
            raise exc
        if outcome is Outcome.NOT_FOUND:
            self._logger.info("job not found; nothing to do")
            self._reporter.count("JobsNotFound")
            return Result(outcome, ref.name).as_dict()
        self._logger.error("describe answered for another job; acting on nothing", extra={"reason": str(exc)})
        self._reporter.count("MalformedEvents")
        return Result(outcome, ref.name, reason=str(exc)).as_dict()

    def _remediate_parent(self, subject: Subject, step: RemediateParent) -> dict[str, Any]:
        self._reporter.count("ChildJobEventsAcknowledged")
        parent = JobRef.for_job(
            step.kind,
            step.name,
            account=subject.account,
            region=subject.region,
            event_id=subject.event_id,
            initiated_by=subject.initiated_by,
            acting_for=subject.acting_for,
        )
        return self.remediate(parent, busy_is_ok=True)


def _details(plan: RemediationPlan, run: Run) -> dict[str, Any]:
    """The JSON-safe summary of a run the function returns (and idempotency stores)."""
    details: dict[str, Any] = {}
    if run.parent is not None:
        details["parent"] = run.parent
    if run.alert is not None:
        details["alert"] = run.alert.value
    if plan.refusals:
        details["unrelaunchable"] = [r.rule for r in plan.refusals]
    if run.ended_before_stop:
        details["ended_before_stop"] = True
    if any(isinstance(s, RepairGroups) for s in plan.steps):
        details["rules_added"] = len(run.repair.added)
        if run.repair.problems:
            details["problems"] = list(run.repair.problems)
    if run.created is not None or run.refusal is not None:
        details["relaunched_as"] = run.created
    if run.created is not None:
        details["created"] = run.created_new
        details["notes"] = list(run.notes)
    if run.refusal is not None:
        details["refused"] = run.refusal
    return details
