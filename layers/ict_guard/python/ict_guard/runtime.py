"""Wiring for one Lambda container: settings from the environment, clients, Powertools utilities.

Built on first use (not at import) and kept for the container's lifetime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from ict_guard.aws import AwsClients, lazy_client
from ict_guard.ledger import RemediationLedger
from ict_guard.ports import BotoSageMakerJobs
from ict_guard.publishing import AlertPublisher
from ict_guard.remediation import JobGuard
from ict_guard.reporting import Reporter
from ict_guard.security_groups import SecurityGroupRepairer
from ict_guard.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    # Each function imports only its own service: the job guard's cold start does not pay for
    # the security-group guard's or the sweeper's modules (imported in their factories below).
    from ict_guard.findings import SecurityHubFindings
    from ict_guard.sg_guard import SecurityGroupGuard
    from ict_guard.sweeper import Sweeper

# Longer than Lambda's asynchronous retry window (maximum event age, at most 6 hours), so that
# every retry and duplicate of one event meets the first outcome.
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 3600

logger = Logger(child=True)
metrics = Metrics()


@dataclass(frozen=True)
class JobGuardRuntime:
    guard: JobGuard
    idempotency: IdempotencyConfig
    clients: AwsClients

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        # An invocation that dies mid-way leaves an INPROGRESS record; registering the context
        # lets it expire with the function's timeout instead of blocking every retry.
        self.idempotency.register_lambda_context(context)
        return self.guard.handle(event, account=_account_of(context))


def _account_of(context: Any) -> str | None:
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[4] if len(parts) > 4 and parts[4] else None


@dataclass(frozen=True)
class _Wiring:
    """What every function's runtime starts from: settings, clients, and Powertools idempotency
    on the shared table (each caller with its own key and, through the function it wraps, its
    own records)."""

    settings: Settings
    clients: AwsClients
    config: IdempotencyConfig
    persistence: DynamoDBPersistenceLayer
    # The two settings every function needs, checked to be set.
    alert_topic_arn: str
    table_name: str

    @classmethod
    def from_env(cls, event_key_jmespath: str) -> _Wiring:
        settings = Settings.from_env(os.environ)
        if not settings.alert_topic_arn or not settings.idempotency_table_name:
            raise ConfigurationError("ALERT_TOPIC_ARN and IDEMPOTENCY_TABLE_NAME must be set")
        clients = AwsClients()
        config = IdempotencyConfig(
            event_key_jmespath=event_key_jmespath,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table_name, boto3_client=clients.dynamodb
        )
        return cls(settings, clients, config, persistence, settings.alert_topic_arn, settings.idempotency_table_name)

    def wrap(self, data_keyword_argument: str) -> Any:
        """run_once.Idempotency: Powertools' idempotent_function for that keyword argument."""
        return lambda fn: idempotent_function(
            data_keyword_argument=data_keyword_argument,
            persistence_store=self.persistence,
            config=self.config,
        )(fn)


@cache
def job_guard_runtime() -> JobGuardRuntime:
    # One record per job and purpose (deciding on the job, or finishing its owed re-launch), and
    # for a schedule per configuration (JobRef.version; None for a job).
    wiring = _Wiring.from_env(event_key_jmespath="[key, purpose, version]")
    settings, clients = wiring.settings, wiring.clients
    guard = JobGuard(
        settings=settings,
        sagemaker=BotoSageMakerJobs(clients.sagemaker),
        # EC2 only when a job has security groups to check, SNS only when there is an alert:
        # an ignored job's event creates neither client.
        security_groups=SecurityGroupRepairer(lazy_client(clients, "ec2")),
        reporter=Reporter(
            alerts=_alert_publisher(lazy_client(clients, "sns"), wiring.alert_topic_arn, settings),
            logger=logger,
            metrics=metrics,
            findings=_security_hub_findings(settings, clients),
        ),
        ledger=RemediationLedger(clients.dynamodb, wiring.table_name),
        logger=logger,
        region=clients.region,
        idempotency=wiring,
    )
    return JobGuardRuntime(guard=guard, idempotency=wiring.config, clients=clients)


def _alert_publisher(sns: Any, topic_arn: str, settings: Settings) -> AlertPublisher:
    """The alert topic, and the chat topic when the deployment has one (CHAT_TOPIC_ARN)."""
    return AlertPublisher(sns, topic_arn, chat_topic_arn=settings.chat_topic_arn, logger=logger, metrics=metrics)


def _security_hub_findings(settings: Settings, clients: AwsClients) -> SecurityHubFindings | None:
    """Security Hub findings when the deployment turned them on (SECURITY_HUB_FINDINGS=true)."""
    if not settings.security_hub_findings:
        return None
    from ict_guard.findings import SecurityHubFindings

    return SecurityHubFindings(
        lazy_client(clients, "securityhub"),
        min_instance_count=settings.min_instance_count,
        logger=logger,
        metrics=metrics,
    )


@dataclass(frozen=True)
class SecurityGroupGuardRuntime:
    guard: SecurityGroupGuard
    idempotency: IdempotencyConfig
    clients: AwsClients

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        self.idempotency.register_lambda_context(context)
        return self.guard.handle(event, account=_account_of(context))


@cache
def sg_guard_runtime() -> SecurityGroupGuardRuntime:
    """The security-group guard's wiring: the same table as the job guard, its own idempotency
    scope (its records are keyed by the function and the method they protect, and by
    `sg/<group>/<eventID>`)."""
    from ict_guard.sg_guard import SecurityGroupGuard

    wiring = _Wiring.from_env(event_key_jmespath="key")
    settings, clients = wiring.settings, wiring.clients
    guard = SecurityGroupGuard(
        settings=settings,
        ec2=clients.ec2,
        repairer=SecurityGroupRepairer(clients.ec2),
        reporter=Reporter(
            alerts=_alert_publisher(clients.sns, wiring.alert_topic_arn, settings), logger=logger, metrics=metrics
        ),
        logger=logger,
        region=clients.region,
        idempotency=wiring,
    )
    return SecurityGroupGuardRuntime(guard=guard, idempotency=wiring.config, clients=clients)


@dataclass(frozen=True)
class SweeperRuntime:
    sweeper: Sweeper
    idempotency: IdempotencyConfig

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        self.idempotency.register_lambda_context(context)
        account = _account_of(context) or (event.get("account") if isinstance(event, dict) else None)
        if not account:
            raise ConfigurationError("the sweep needs the function's account (from its ARN)")
        return self.sweeper.sweep(
            account=account,
            sweep_id=getattr(context, "aws_request_id", "manual"),
            remaining_ms=context.get_remaining_time_in_millis,
        )


@cache
def sweeper_runtime() -> SweeperRuntime:
    """The sweep runs every job through the job guard's own wiring: same settings, clients,
    idempotency records and ledger."""
    import datetime as dt

    from ict_guard.sweeper import Sweeper, SweepSettings

    jobs = job_guard_runtime()
    sweeper = Sweeper(
        sagemaker=jobs.clients.sagemaker,
        guard=jobs.guard,
        settings=SweepSettings.from_env(os.environ),
        logger=logger,
        reporter=jobs.guard.reporter,
        region=jobs.clients.region,
        ledger=jobs.guard.ledger,
        # A judgment lives as long as its idempotency record: the sweep judges again after that.
        record_lifetime=dt.timedelta(seconds=IDEMPOTENCY_EXPIRY_SECONDS),
    )
    return SweeperRuntime(sweeper=sweeper, idempotency=jobs.idempotency)
