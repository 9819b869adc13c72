"""moto's Security Hub, made to treat a finding's workflow the way the real service does.

moto 5.2 stores imported findings and lists them, which is most of what the guard needs, but:

- a re-import replaces the whole stored finding, Workflow included, while Security Hub keeps the
  customer-owned fields (Note, UserDefinedFields, VerificationState, Workflow) after creation and
  resets a RESOLVED or NOTIFIED workflow to NEW only when Compliance.Status changes from PASSED to
  FAILED/WARNING/NOT_AVAILABLE or RecordState from ARCHIVED to ACTIVE (Security Hub API reference:
  BatchImportFindings, Workflow);
- imports succeed in an account where Security Hub is not enabled, or for another account's
  `AwsAccountId`; the real service refuses both.

BatchUpdateFindings (the customers' call) is left out on purpose: the guard is a finding provider
and must not need it; a call to it fails here as it would be denied by the guard's role.

`install()` patches these in, for in-process `mock_aws()` and for a `ThreadedMotoServer` started
after it. `GetFindings` filters stay unimplemented (moto returns every finding).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.models import Finding, SecurityHubBackend

__all__ = ["install"]

# Owned by the customer once the finding exists (BatchImportFindings cannot change them).
CUSTOMER_FIELDS = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
_REOPENING_COMPLIANCE = {"FAILED", "WARNING", "NOT_AVAILABLE"}
_install_lock = threading.Lock()


def _workflow_after_import(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    workflow = dict(old.get("Workflow") or {"Status": "NEW"})
    old_compliance = (old.get("Compliance") or {}).get("Status")
    new_compliance = (new.get("Compliance") or {}).get("Status")
    reopened = (old_compliance == "PASSED" and new_compliance in _REOPENING_COMPLIANCE) or (
        old.get("RecordState") == "ARCHIVED" and new.get("RecordState", "ACTIVE") == "ACTIVE"
    )
    if reopened and workflow.get("Status") in {"RESOLVED", "NOTIFIED"}:
        workflow["Status"] = "NEW"
    return workflow


def _batch_import_findings(
    self: SecurityHubBackend, findings: list[dict[str, Any]]
) -> tuple[int, int, list[dict[str, Any]]]:
    if not self.enabled:
        raise SecurityHubClientError(
            "InvalidAccessException", f"Account {self.account_id} is not subscribed to AWS Security Hub"
        )
    failed: list[dict[str, Any]] = []
    succeeded = 0
    for data in findings:
        finding_id = data.get("Id", "")
        problem = None
        if not isinstance(data.get("Resources"), list) or not data["Resources"]:
            problem = "Finding must contain at least one resource in the Resources array"
        elif data.get("AwsAccountId") != self.account_id:
            problem = "AwsAccountId must be the account that imports the finding"
        elif data.get("ProductArn") != (
            f"arn:aws:securityhub:{self.region_name}:{self.account_id}:product/{self.account_id}/default"
        ):
            problem = "only the account's default product is emulated"
        if problem:
            failed.append({"Id": finding_id, "ErrorCode": "InvalidInput", "ErrorMessage": problem})
            continue
        existing = next((f for f in self.findings if f.id == finding_id), None)
        if existing is None:
            stored = dict(data)
            stored["Workflow"] = dict(data.get("Workflow") or {"Status": "NEW"})
            stored.setdefault("RecordState", "ACTIVE")
            self.findings.append(Finding(finding_id, stored))
        else:
            kept = {key: existing.data[key] for key in CUSTOMER_FIELDS if key in existing.data}
            workflow = _workflow_after_import(existing.data, data)
            existing.data = {**{k: v for k, v in data.items() if k not in CUSTOMER_FIELDS}, **kept}
            existing.data["Workflow"] = workflow
        succeeded += 1
    return len(failed), succeeded, failed


def install() -> None:
    """Patch moto's Security Hub. Idempotent."""
    with _install_lock:
        SecurityHubBackend.batch_import_findings = _batch_import_findings  # type: ignore[method-assign]
