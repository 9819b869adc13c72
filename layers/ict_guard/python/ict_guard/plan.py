"""The remediation plan: a value, built by one pure function from what the guard read.

`plan_remediation` turns the evaluation (described job, tags, decision, ledger entry), the
settings and the event's hints into a `RemediationPlan`: an ordered tuple of typed steps. The
executor (executor.py) runs them against AWS; `ict-guard explain` prints the same plan. Rules the
plan keeps, whatever the input (tests/unit/test_plan.py checks them with hypothesis):

- the stop is the first step that changes the account;
- a copy is planned at most once, and never after a refused preflight;
- the intent (and the exact re-launch request) is recorded before the stop (a plain stop too:
  its alert is owed afterwards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ict_guard.alerts import AlertAction
from ict_guard.jobs import (
    CONFIGURATION_MEMBER,
    DEFINITION_APIS,
    RELAUNCHED_FROM_TAG,
    REMEDIATION_TAG,
    RESOLVED_DEFINITION,
    RESOLVED_TAGS,
    Job,
    JobApi,
    JobKind,
    RemediationTag,
    configuration_digest,
    get_path,
    has_room_for_tag,
    security_group_sets,
    set_path,
)
from ict_guard.policy import Action, Decision, Intent, decide, history_from_tag
from ict_guard.settings import UnrelaunchableJobAction
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
    from botocore.model import ServiceModel

    from ict_guard.clone import EncryptedCopy
    from ict_guard.ledger import LedgerEntry
    from ict_guard.preflight import Refusal
    from ict_guard.settings import Settings


@dataclass(frozen=True)
class RemediationPlan:
    """What the guard will do with one job, in order, and why."""

    action: Action
    reason: str
    steps: tuple[Step, ...] = ()
    copy: EncryptedCopy | None = None
    refusals: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def relaunch_request(self) -> Mapping[str, Any] | None:
        """What a person sends to finish the work by hand: the update of a resource encrypted in
        place, else the copy's Create* request."""
        updated = [s for s in self.steps if isinstance(s, UpdateInPlace)]
        if updated:
            return updated[0].request
        created = [s for s in self.steps if isinstance(s, CreateCopy)]
        if created:
            return created[0].request
        return self.copy.request if self.copy is not None else None

    @property
    def unrelaunchable(self) -> bool:
        return bool(self.refusals)

    def descriptions(self) -> list[str]:
        return [text for step in self.steps if (text := step.describe())]


def ended_before_stop() -> tuple[Step, ...]:
    """What replaces the rest of `plan` when the job ended by itself before the guard's stop."""
    return (
        Settle("ended-before-stop"),
        Publish(
            AlertAction.NOTIFIED,
            reason="unencrypted; the job ended before the guard could stop it, so it is not re-launched",
        ),
    )


def copy_refused(message: str, job: Job, refused: str = "the encrypted copy") -> tuple[Step, ...]:
    """What replaces the rest of a plan when SageMaker refused the copy and every fallback: one
    alert for a person, then the original says so on its remediation tag (where it has room: the
    ledger says it in any case), settled."""
    tag, _ = _tag(job, RemediationTag.RELAUNCH_REFUSED)
    return (
        Publish(
            AlertAction.FAILED,
            reason=f"SageMaker refused {refused}: {message}",
            action_needed=True,
            unless_tagged=RemediationTag.RELAUNCH_REFUSED,
        ),
        *tag,
        Settle("relaunch-refused"),
    )


# -- the planner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hints:
    """What only the CloudTrail event knows (the sweep and a resume have none: None)."""

    metric_definitions_sent: tuple[bool | None, ...] = ()
    session_chaining: bool | None = None


@dataclass(frozen=True)
class PlanInput:
    api: JobApi
    described: Mapping[str, Any]
    tags: Mapping[str, str]
    job: Job
    entry: LedgerEntry | None
    decision: Decision
    hints: Hints = field(default_factory=Hints)
    # A resource updated in place: the configuration judged (from JobRef.version, without its
    # LastModifiedTime), and the one last alerted on without a change (notify mode, an
    # exemption), from the ledger.
    version: str | None = None
    notified_version: str | None = None


def plan_remediation(source: PlanInput, settings: Settings, service_model: ServiceModel) -> RemediationPlan:
    """The plan for one evaluated job (pure: the same input gives the same plan)."""
    plan = _plan(source, settings, service_model)
    if source.api.in_place and plan.action is Action.NOTIFY and source.version is not None:
        if source.notified_version == source.version:
            # A schedule lives for months: alerted on once per configuration, not once a day.
            return RemediationPlan(Action.NOTHING, f"{plan.reason}; already alerted on this configuration")
        plan = _with(plan, RecordNotified(source.version))
    definition = source.described.get(RESOLVED_DEFINITION)
    if isinstance(definition, Mapping) and plan.action in (Action.NOTIFY, Action.STOP) and not source.job.encrypted:
        # The schedule has no flag of its own: it is in the job definition it runs, which cannot
        # be changed (there is no Update*JobDefinition): the reader must know which one.
        name = definition.get("JobDefinitionName")
        monitoring_type = get_path(source.described, ("MonitoringScheduleConfig", "MonitoringType"))
        plan = _with(
            plan,
            notes=(
                f"the flag is in the {monitoring_type} job definition {name} it runs, which cannot be changed: "
                f"create a new definition with NetworkConfig.EnableInterContainerTrafficEncryption=True and point "
                "the schedule at it (UpdateMonitoringSchedule)",
            ),
        )
    return plan


def _plan(source: PlanInput, settings: Settings, service_model: ServiceModel) -> RemediationPlan:
    job, decision = source.job, source.decision
    action = decision.action
    base = RemediationPlan(action, decision.reason)
    match action:
        case Action.NOTHING:
            return base
        case Action.LEAVE_TO_PARENT:
            if job.parent_kind is None or job.parent_name is None:
                return base  # policy.decide leaves a job to its parent only when the guard remediates it
            # The parent may be gone (a schedule deleted while its execution runs): the child is
            # then judged alone, and an unencrypted distributed one is alerted on, never stopped.
            alone = decide(replace(job, parent_arn=None), settings)
            orphan: tuple[Step, ...] = ()
            if alone.action not in (Action.NOTHING, Action.REPAIR_SECURITY_GROUPS):
                orphan = (
                    Publish(
                        AlertAction.NOTIFIED,
                        reason=f"{alone.reason.split(';')[0]}, launched by {job.parent_arn}, which is gone: "
                        "nothing will fix it through its parent",
                        action_needed=True,
                        only_if_parent_gone=True,
                    ),
                )
            return _with(base, RemediateParent(job.parent_kind, job.parent_name), *orphan)
        case Action.NOTIFY:
            return _with(base, Publish(AlertAction.NOTIFIED))
        case Action.REPAIR_SECURITY_GROUPS:
            return _with(
                base,
                RepairGroups(job.security_group_sets),
                Publish(AlertAction.SECURITY_GROUPS_REPAIRED, only_if_repaired=True),
            )
        case Action.STOP:
            return _stop_plan(base, job, child=_running_child(source))
        case Action.RESUME:
            return _resume_plan(base, source, settings, service_model)
        case Action.ENDED_BEFORE_STOP:
            return _with(base, Settle("ended-before-stop"), Publish(AlertAction.NOTIFIED))
    return _relaunch_plan(base, source, settings, service_model)


def _with(plan: RemediationPlan, *steps: Step, **changes: Any) -> RemediationPlan:
    return RemediationPlan(
        action=changes.get("action", plan.action),
        reason=changes.get("reason", plan.reason),
        steps=plan.steps + steps,
        copy=changes.get("copy", plan.copy),
        refusals=changes.get("refusals", plan.refusals),
        notes=plan.notes + tuple(changes.get("notes", ())),
    )


def _tag(job: Job, value: RemediationTag) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """The remediation tag, when the original has room for it among its 50 user tags."""
    if has_room_for_tag(job.tags, REMEDIATION_TAG):
        return (TagOriginal(job.name, value),), ()
    return (), (
        f"{job.name} already holds 50 user tags, the most SageMaker allows, so it carries no "
        f"{REMEDIATION_TAG} tag: what the guard did is in this alert and its ledger",
    )


def _running_child(source: PlanInput) -> tuple[Step, ...]:
    """Stopping the child that runs now (a schedule's monitoring execution), when there is one."""
    child = source.api.running_child(source.described)
    return (StopChild(JobKind.PROCESSING, child),) if child else ()


def _stop_plan(
    base: RemediationPlan,
    job: Job,
    *,
    action_needed: bool = False,
    reason: str | None = None,
    child: tuple[Step, ...] = (),
) -> RemediationPlan:
    tag, notes = _tag(job, RemediationTag.STOPPED)
    return _with(
        base,
        RecordIntent(Intent.STOP),
        StopJob(job.name),
        *child,
        Publish(AlertAction.STOPPED, reason=reason, action_needed=action_needed),
        *tag,
        Settle("stopped"),
        notes=notes,
    )


def _copy_steps(job: Job, api: JobApi, request: Mapping[str, Any], settings: Settings) -> tuple[Step, ...]:
    groups = security_group_sets(api.kind, request)
    repair: tuple[Step, ...] = (RepairGroups(groups),) if settings.repair_security_groups and groups else ()
    return (*repair, CreateCopy(str(request[api.name_member]), request))


def _relaunch_plan(
    base: RemediationPlan, source: PlanInput, settings: Settings, model: ServiceModel
) -> RemediationPlan:
    # Here, not at the top: a stop's cold start does not load them.
    from ict_guard.clone import build_encrypted_copy
    from ict_guard.preflight import preflight, workload_refusals

    job, api = source.job, source.api
    copy = build_encrypted_copy(
        api, source.described, source.tags, model, metric_definitions_sent=source.hints.metric_definitions_sent
    )
    refusals = workload_refusals(job, settings, session_chaining=source.hints.session_chaining)
    refusals += preflight(api, copy.request, model)
    definition_copy = _definition_copy(source, copy, model)
    if definition_copy is not None:
        step, definition_api = definition_copy
        refusals += preflight(definition_api, step.request, model)
    if refusals:
        why = "; ".join(r.message for r in refusals)
        if settings.unrelaunchable_job_action is UnrelaunchableJobAction.STOP:
            reason = (
                f"{base.reason}, but the guard cannot re-launch it as the same workload, so it is only stopped: {why}"
            )
            plan = _stop_plan(
                _with(base, copy=copy, refusals=tuple(refusals)),
                job,
                action_needed=True,
                reason=reason,
                child=_running_child(source),
            )
            return _with(plan, action=Action.STOP)
        reason = f"{base.reason}, but the guard cannot re-launch it as the same workload, so it is left running: {why}"
        return _with(
            base,
            Publish(AlertAction.NOTIFIED, reason=reason, action_needed=True),
            action=Action.NOTIFY,
            reason=reason,
            copy=copy,
            refusals=tuple(refusals),
        )
    if api.in_place:
        return _in_place_plan(base, source, settings, copy, definition_copy)
    pending, notes = _tag(job, RemediationTag.RELAUNCH_PENDING)
    done, _ = _tag(job, RemediationTag.RELAUNCHED)
    return _with(
        base,
        RecordIntent(Intent.RELAUNCH, copy.request),
        StopJob(job.name),
        *pending,
        *_copy_steps(job, api, copy.request, settings),
        Publish(AlertAction.RELAUNCHED),
        *done,
        Settle("relaunched"),
        copy=copy,
        notes=copy.notes + notes,
    )


def _definition_copy(source: PlanInput, update: EncryptedCopy, model: ServiceModel) -> tuple[CreateCopy, JobApi] | None:
    """For a schedule that runs a job definition by name (immutable): its encrypted copy, which
    `update` (the schedule's Update* request) is pointed at."""
    from ict_guard.clone import build_encrypted_copy, relaunch_name

    api, described = source.api, source.described
    definition = described.get(RESOLVED_DEFINITION)
    if api.definition_reference is None or not isinstance(definition, Mapping):
        return None
    name_path, type_path = api.definition_reference
    definition_api = DEFINITION_APIS[str(get_path(described, type_path))]
    copy = build_encrypted_copy(definition_api, definition, definition.get(RESOLVED_TAGS) or {}, model)
    original = str(definition[definition_api.name_member])
    # A definition is changed by deleting and creating it again under its name: its CreationTime
    # tells the two apart, so the new one is not replaced by the copy of the old one.
    name = relaunch_name(original, definition_api.name_max_length, salt=str(definition.get("CreationTime") or ""))
    copy.request[definition_api.name_member] = name
    set_path(update.request, name_path, name)
    return CreateCopy(name, copy.request, kind=definition_api.kind, original=original), definition_api


def _in_place_plan(
    base: RemediationPlan,
    source: PlanInput,
    settings: Settings,
    update: EncryptedCopy,
    definition_copy: tuple[CreateCopy, JobApi] | None,
) -> RemediationPlan:
    """A resource encrypted by its own Update* (a monitoring schedule): nothing is stopped but the
    child running now; the old job definition a schedule ran is tagged, never deleted."""
    job = source.job
    groups = job.security_group_sets
    repair: tuple[Step, ...] = (RepairGroups(groups),) if settings.repair_security_groups and groups else ()
    # The update tags the schedule "pending" (once its re-read finds it unchanged) until the alert
    # is out: a resumed run then knows whether the alert of *this* fix was sent (a tag left by an
    # earlier fix, or an earlier refusal, would say so wrongly).
    pending, _ = _tag(job, RemediationTag.RELAUNCH_PENDING)
    done, notes = _tag(job, RemediationTag.ENCRYPTED_IN_PLACE)
    old_definition: tuple[Step, ...] = ()
    create: tuple[Step, ...] = ()
    if definition_copy is not None:
        step, definition_api = definition_copy
        create = (step,)
        definition = source.described[RESOLVED_DEFINITION]
        if not any(t.get("Key") == RELAUNCHED_FROM_TAG for t in step.request.get("Tags") or []):
            notes += (
                f"the copy {step.name} carries the 50 tags of {step.original}, the most SageMaker allows, so it has "
                f"no {RELAUNCHED_FROM_TAG} tag: it replaces {step.original}, as this alert and the ledger say",
            )
        if has_room_for_tag(definition.get(RESOLVED_TAGS) or {}, REMEDIATION_TAG):
            arn = str(definition[definition_api.arn_member])
            old_definition = (TagOriginal(str(step.original), RemediationTag.REPLACED, arn=arn),)
        else:
            notes += (
                f"{step.original} already holds 50 user tags, so it carries no {REMEDIATION_TAG}=replaced tag: "
                f"{step.name} replaces it",
            )
    return _with(
        base,
        RecordIntent(Intent.RELAUNCH, update.request),
        *repair,
        *create,
        UpdateInPlace(
            job.name,
            update.request,
            configuration_digest(source.described.get(CONFIGURATION_MEMBER)),
            tag_pending=bool(pending),
        ),
        *_running_child(source),
        Publish(AlertAction.ENCRYPTED_IN_PLACE),
        *done,
        *old_definition,
        Settle("encrypted-in-place"),
        copy=update,
        notes=notes,
    )


def _replaced_definition_tag(source: PlanInput) -> tuple[Step, ...]:
    """In a resumed run, the schedule runs the copy already: the definition it replaced (the
    copy's link tag names it) still gets its `replaced` tag."""
    copy = source.described.get(RESOLVED_DEFINITION)
    if not isinstance(copy, Mapping):
        return ()
    original = (copy.get(RESOLVED_TAGS) or {}).get(RELAUNCHED_FROM_TAG)
    arn = copy.get("JobDefinitionArn")
    if not original or not isinstance(arn, str):
        return ()
    return (
        TagOriginal(str(original), RemediationTag.REPLACED, arn=f"{arn.rsplit('/', 1)[0]}/{str(original).lower()}"),
    )


def _resume_plan(base: RemediationPlan, source: PlanInput, settings: Settings, model: ServiceModel) -> RemediationPlan:
    """Finish what an earlier run started after its stop (it crashed, or timed out)."""
    from ict_guard.clone import build_encrypted_copy

    job, entry = source.job, source.entry
    if entry is not None and entry.refusal is not None:
        return _with(base, *copy_refused(entry.refusal, job))
    history = entry.history if entry is not None else history_from_tag(job.remediation_tag)
    # RESUME is decided only with a history (policy.decide); without one, a relaunch is what is owed.
    intent = history.intent if history is not None else Intent.RELAUNCH
    if intent is Intent.STOP:
        tag, notes = _tag(job, RemediationTag.STOPPED)
        publish = Publish(AlertAction.STOPPED, unless_tagged=RemediationTag.STOPPED)
        return _with(base, *_running_child(source), publish, *tag, Settle("stopped"), notes=notes)
    if source.api.in_place and entry is not None and not entry.confirmed:
        # Encrypted now, but the guard's update never answered: its answer was lost, or the update
        # failed and someone turned encryption on. Said as it is, never claimed.
        return _with(
            base,
            Publish(
                AlertAction.NOTIFIED,
                reason=f"encryption is on in {job.name} now; the guard's own update of it never answered, so it "
                "was turned on by that update (its answer lost) or by someone else: nothing more to do",
            ),
            *_running_child(source),
            Settle("encrypted-unconfirmed"),
        )
    if source.api.in_place:  # the update was made: what is left is the alert and the tags
        tag, notes = _tag(job, RemediationTag.ENCRYPTED_IN_PLACE)
        publish = Publish(AlertAction.ENCRYPTED_IN_PLACE, unless_tagged=RemediationTag.ENCRYPTED_IN_PLACE)
        return _with(
            base,
            *_running_child(source),  # a stop of the execution that failed in the earlier run
            publish,
            *tag,
            *_replaced_definition_tag(source),
            Settle("encrypted-in-place"),
            notes=notes,
        )
    request = entry.relaunch_request if entry is not None and entry.relaunch_request else None
    copy = None
    if request is None:
        copy = build_encrypted_copy(
            source.api,
            source.described,
            source.tags,
            model,
            metric_definitions_sent=source.hints.metric_definitions_sent,
        )
        request = copy.request
    done, notes = _tag(job, RemediationTag.RELAUNCHED)
    return _with(
        base,
        *_copy_steps(job, source.api, request, settings),
        Publish(AlertAction.RELAUNCHED, unless_tagged=RemediationTag.RELAUNCHED),
        *done,
        Settle("relaunched"),
        copy=copy,
        notes=(copy.notes if copy else ()) + notes,
    )
