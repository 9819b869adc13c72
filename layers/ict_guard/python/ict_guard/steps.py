"""The typed steps of a RemediationPlan (plan.py), each a frozen value that says what it does.

The executor (executor.py) runs them; `describe()` is what alerts and `ict-guard explain` list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ict_guard.alert_actions import AlertAction
from ict_guard.jobs import REMEDIATION_TAG, JobKind, RemediationTag
from ict_guard.policy import Intent


@dataclass(frozen=True)
class RecordIntent:
    """Ledger PutItem: what the guard owes the job, durable before the stop."""

    intent: Intent
    request: Mapping[str, Any] | None = None

    def describe(self) -> str:
        return "record the re-launch request" if self.request is not None else "record the intent to stop"


@dataclass(frozen=True)
class RecordNotified:
    """Ledger PutItem: the configuration of a resource updated in place just alerted on without a
    change (notify mode, an exemption), so that it is not alerted on again until it changes."""

    version: str

    def describe(self) -> str | None:
        return None  # bookkeeping


@dataclass(frozen=True)
class StopJob:
    name: str

    def describe(self) -> str:
        return f"stop {self.name}"


@dataclass(frozen=True)
class TagOriginal:
    """AddTags of the remediation tag on the job (or on `arn`: a schedule's old job definition)."""

    name: str
    value: RemediationTag
    arn: str | None = None

    def describe(self) -> str:
        return f"tag {self.name} {REMEDIATION_TAG}={self.value}"


@dataclass(frozen=True)
class RepairGroups:
    group_sets: tuple[tuple[str, ...], ...]

    def describe(self) -> str:
        return "check and repair the security groups"


@dataclass(frozen=True)
class CreateCopy:
    """Create* of the encrypted copy: of the job, or (`kind`) of the job definition it runs."""

    name: str
    request: Mapping[str, Any]
    kind: JobKind | None = None  # None: the job's own kind
    original: str | None = None  # what it copies; None: the job itself

    def describe(self) -> str:
        return f"create {self.name} with encryption on"


@dataclass(frozen=True)
class UpdateInPlace:
    """The job's Update* (jobs.JobApi.in_place): a monitoring schedule, encrypted from its next run."""

    name: str
    request: Mapping[str, Any]
    # The digest of the configuration the request was built from: the update is sent only if the
    # resource still has it (someone's change in between is not overwritten; its own event judges it).
    configuration: str | None = None
    tag_pending: bool = False  # tag it relaunch-pending right before the update (room permitting)

    def describe(self) -> str:
        return f"update {self.name} with encryption on"


@dataclass(frozen=True)
class StopChild:
    """Stop the child job running now (a schedule's monitoring execution); gone or ended: nothing."""

    kind: JobKind
    name: str

    def describe(self) -> str:
        return f"stop the running {self.kind.value} {self.name}"


@dataclass(frozen=True)
class Publish:
    """The alert. `only_if_repaired`: only when the security-group step changed or found
    something (an encrypted job's repair). `unless_tagged`: in a resumed run, not when the job
    already carries this remediation tag, which the plan writes right after the alert: the earlier
    run sent it and only its settle was lost."""

    action: AlertAction
    reason: str | None = None  # None: the decision's reason
    action_needed: bool = False
    only_if_repaired: bool = False
    unless_tagged: RemediationTag | None = None
    only_if_parent_gone: bool = False  # a child's alert, sent when its parent turned out gone

    def describe(self) -> str:
        return "alert"


@dataclass(frozen=True)
class Settle:
    """Ledger UpdateItem: the job needs nothing more (`outcome` says how it ended)."""

    outcome: str

    def describe(self) -> str | None:
        return None  # bookkeeping, not a step a person finishes by hand


@dataclass(frozen=True)
class RemediateParent:
    """A tuning job's training job: the parent is remediated instead, once."""

    kind: JobKind
    name: str

    def describe(self) -> str:
        return f"remediate the parent {self.kind.value} {self.name}"


Step = (
    RecordIntent
    | RecordNotified
    | StopJob
    | TagOriginal
    | RepairGroups
    | CreateCopy
    | UpdateInPlace
    | StopChild
    | Publish
    | Settle
    | RemediateParent
)
MUTATING_STEPS = (StopJob, TagOriginal, RepairGroups, CreateCopy, UpdateInPlace, StopChild)
