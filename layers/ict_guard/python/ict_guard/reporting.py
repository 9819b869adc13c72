"""Publishing and counting, shared by the job guard, the security-group guard and the sweeper.

An alert goes to the alert topic (and the chat topic, through AlertPublisher), is counted as
`Alerts<Action>`, logged with its SNS message id, and, for the job guard, becomes a Security Hub
finding when the deployment turned those on (never raises: a second view of the alert).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from ict_guard.alerts import Alert, AlertPublisher
    from ict_guard.findings import SecurityHubFindings


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
