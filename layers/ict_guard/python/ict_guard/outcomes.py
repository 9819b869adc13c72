"""What handling one event (or one swept job) came to: one enum, one result type, and one table
that maps the domain's exceptions to outcomes or to "raise, Lambda retries".

The functions return `Result.as_dict()`: a JSON document Powertools idempotency stores and hands
back to a repeated event, and that the sweeper reads back with `Result.from_dict`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ict_guard.errors import DescribedOtherJob, JobBusy, JobGone, SecurityGroupGone


class Outcome(enum.StrEnum):
    # the job guard: the policy's actions (policy.Action has the same values)
    NOTHING = "nothing"
    LEAVE_TO_PARENT = "leave-to-parent"
    NOTIFY = "notify"
    REPAIR_SECURITY_GROUPS = "repair-security-groups"
    STOP = "stop"
    RELAUNCH = "relaunch"
    RESUME = "resume"
    ENDED_BEFORE_STOP = "ended-before-stop"
    # the job guard: nothing was decided
    NOT_FOUND = "not-found"
    MISMATCH = "mismatch"
    NOTHING_OWED = "nothing-owed"
    IN_PROGRESS_ELSEWHERE = "in-progress-elsewhere"
    # any guard: the event itself
    MALFORMED = "malformed"
    IGNORED = "ignored"
    # the security-group guard
    NOT_MANAGED = "not-managed"
    INTACT = "intact"
    REPAIR_DISABLED = "repair-disabled"
    RESTORED = "restored"
    RESTORE_FAILED = "restore-failed"
    ALREADY_RESTORED = "already-restored"  # this call's removal was undone while handling another


# Outcomes that changed the account or alerted (the sweeper's "catches" when not a duplicate).
_ACTING = {
    Outcome.NOTIFY,
    Outcome.STOP,
    Outcome.RELAUNCH,
    Outcome.RESUME,
    Outcome.ENDED_BEFORE_STOP,
    Outcome.RESTORED,
    Outcome.RESTORE_FAILED,
    Outcome.ALREADY_RESTORED,
}


@dataclass(frozen=True)
class Result:
    """One handled event: its outcome, the resource, and what was done (JSON-safe details)."""

    outcome: Outcome
    subject: str | None = None  # the job name or security group
    subject_key: str = "job"
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    duplicate: bool = False

    @property
    def acted(self) -> bool:
        """Whether this run changed the account or alerted."""
        if self.outcome is Outcome.REPAIR_SECURITY_GROUPS:
            return bool(self.details.get("rules_added")) or "alert" in self.details
        return self.outcome in _ACTING

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"outcome": self.outcome.value}
        if self.subject is not None:
            document[self.subject_key] = self.subject
        if self.reason is not None:
            document["reason"] = self.reason
        document.update(self.details)
        if self.duplicate:
            document["duplicate"] = True
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Result:
        known = {"outcome", "job", "group", "reason", "duplicate"}
        subject_key = "group" if "group" in document else "job"
        return cls(
            outcome=Outcome(document["outcome"]),
            subject=document.get(subject_key),
            subject_key=subject_key,
            reason=document.get("reason"),
            details={k: v for k, v in document.items() if k not in known},
            duplicate=bool(document.get("duplicate")),
        )


# Domain exceptions, in one place: an outcome to return (never retried), or None: raise, so that
# Lambda retries and the dead-letter queue keeps the event.
EXCEPTION_OUTCOMES: dict[type[Exception], Outcome | None] = {
    JobGone: Outcome.NOT_FOUND,
    SecurityGroupGone: Outcome.NOT_FOUND,
    DescribedOtherJob: Outcome.MISMATCH,
    JobBusy: None,
}


def outcome_for(exc: Exception) -> Outcome | None:
    """The outcome an exception ends in, or None when it must be raised."""
    for kind, outcome in EXCEPTION_OUTCOMES.items():
        if isinstance(exc, kind):
            return outcome
    return None
