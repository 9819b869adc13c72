"""What one remediation run is about (Subject) and how far it got (Run): the executor's state,
and what a failure alert reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ict_guard.security_groups import RepairResult

if TYPE_CHECKING:
    from ict_guard.alerts import AlertAction
    from ict_guard.jobs import Job, JobApi, RemediationTag
    from ict_guard.ledger import LedgerEntry
    from ict_guard.plan import RemediationPlan
    from ict_guard.steps import Step


@dataclass(frozen=True)
class Subject:
    """The job a plan is about, and where the event that named it came from."""

    key: str
    job: Job
    api: JobApi
    account: str
    region: str
    event_id: str
    initiated_by: str | None = None
    acting_for: str | None = None  # the person behind a shared role (sourceIdentity, onBehalfOf)
    found_by_sweep: bool = False
    entry: LedgerEntry | None = None


@dataclass
class Run:
    """Progress of one plan: what a failure alert reports."""

    plan: RemediationPlan
    subject: Subject
    done: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    remaining: list[Step] = field(default_factory=list)
    repair: RepairResult = field(default_factory=lambda: RepairResult(()))
    created: str | None = None
    created_new: bool = False
    request: dict[str, Any] | None = None
    request_api: JobApi | None = None  # whose Create* `request` is, when not the subject's own
    tagged: RemediationTag | None = None  # the remediation tag this run wrote on the subject
    # This run asked SageMaker to stop the job (or a child), so it may be stopped, even when the
    # answer was lost: a failure from here on is alerted.
    stopped: bool = False
    refusal: str | None = None
    ended_before_stop: bool = False
    alert: AlertAction | None = None
    parent: dict[str, Any] | None = None

    @property
    def pending(self) -> list[str]:
        return [text for step in self.remaining if (text := step.describe())]
