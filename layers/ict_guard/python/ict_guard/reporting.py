"""Publishing and counting, shared by the job guard, the security-group guard and the sweeper.

An alert goes to the alert topic (and the chat topic, through AlertPublisher), is counted as
`Alerts<Action>`, logged with its SNS message id, and, for the job guard, becomes a Security Hub
finding when the deployment turned those on (never raises: a second view of the alert).
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore import xform_name

from ict_guard.alerts import Alert, AlertAction

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from ict_guard.findings import SecurityHubFindings
    from ict_guard.jobs import JobApi
    from ict_guard.ledger import RemediationLedger
    from ict_guard.publishing import AlertPublisher
    from ict_guard.runs import Run
    from ict_guard.settings import Settings


class Reporter:
    def __init__(
        self,
        *,
        alerts: AlertPublisher,
        logger: Logger,
        metrics: Metrics,
        findings: SecurityHubFindings | None = None,
    ) -> None:
        self._alerts = alerts
        self._logger = logger
        self._metrics = metrics
        self._findings = findings

    def publish(self, alert: Alert) -> str:
        """Publish `alert`; raises what SNS raised (the alert topic is the record)."""
        message_id = self._alerts.publish(alert)
        self.count(f"Alerts{alert.action.value.title().replace('_', '')}")
        self._logger.info("alert published", extra={"alert_action": alert.action.value, "message_id": message_id})
        if self._findings is not None:
            self._findings.report(alert)
        return message_id

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def run_alert(
    run: Run,
    action: AlertAction,
    *,
    settings: Settings,
    ledger: RemediationLedger | None,
    reason: str | None = None,
    action_needed: bool = False,
    pending: list[str] | None = None,
) -> Alert:
    """The complete alert about one remediation run (built once, never changed afterwards).

    A `failed` alert, and any alert a person must act on, carries the re-launch request, where
    the ledger keeps it, and a ready AWS CLI command that sends it."""
    subject, repair, job = run.subject, run.repair, run.subject.job
    rules = repair.summary()
    request = run.request if action is AlertAction.FAILED or action_needed else None
    notes = [*run.notes]
    if subject.found_by_sweep:
        notes.append("found by the scheduled sweep: the CloudTrail event never reached the guard, or late")
    return Alert(
        action=action,
        resource_type=job.kind.value,
        name=job.name,
        arn=job.arn,
        account=subject.account,
        region=subject.region,
        event_id=subject.event_id,
        reason=reason or run.plan.reason,
        mode=settings.mode.value,
        initiated_by=subject.initiated_by,
        acting_for=subject.acting_for,
        instance_count=job.instance_count,
        relaunched_as=run.created if action in (AlertAction.RELAUNCHED, AlertAction.ENCRYPTED_IN_PLACE) else None,
        security_groups=sorted({r["group_id"] for r in rules}),
        rules_added=rules,
        problems=list(repair.problems),
        notes=notes,
        steps_done=list(run.done),
        steps_pending=list(pending or []),
        relaunch_request=request,
        relaunch_request_location=ledger.location(subject.key) if request is not None and ledger is not None else None,
        relaunch_command=create_command(run.request_api or subject.api, subject.region, request) if request else None,
        exempt_tag_key=settings.exempt_tag_key,
        encrypted=job.encrypted,
        action_needed=action_needed,
    )


def create_command(api: JobApi, region: str, request: dict[str, Any]) -> str:
    """A ready AWS CLI command that sends `request` (`aws sagemaker create-training-job ...`)."""
    operation = xform_name(api.create_operation, "-")
    return (
        f"aws sagemaker {operation} --region {shlex.quote(region)} "
        f"--cli-input-json {shlex.quote(json.dumps(request, sort_keys=True, default=str))}"
    )
