"""boto3 clients, created once per Lambda container, each with a deliberate retry configuration."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

from ict_guard import __version__

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_sns import SNSClient

# Standard mode retries throttling, 5xx and connection errors with jittered exponential backoff
# and a client-side retry quota; 5 attempts ride out a burst of SageMaker API throttling well
# inside the function's timeout. Anything left after that is raised to Lambda's own retries.
# `total_max_attempts` counts the first attempt; botocore's `max_attempts` counts only retries
# (max_attempts=5 would be 6 attempts). The control-plane calls answer in well under a second:
# a 10 s read timeout keeps 5 attempts of one call (with backoff) under a minute, inside the
# 120 s timeout that also bounds how long a crashed run's idempotency lock lives.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra=f"sagemaker-ict-guard/{__version__}",
)


class AwsClients:
    """Lazily created clients; endpoint and region come from the standard AWS settings
    (AWS_REGION, AWS_ENDPOINT_URL), which is how the embedded AWS is reached locally."""

    def __init__(self, session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG):
        self._session = session or boto3.session.Session()
        self._config = config

    @property
    def region(self) -> str:
        return self._session.region_name or "us-east-1"

    @cached_property
    def sagemaker(self) -> SageMakerClient:
        return self._session.client("sagemaker", config=self._config)

    @cached_property
    def ec2(self) -> EC2Client:
        return self._session.client("ec2", config=self._config)

    @cached_property
    def sns(self) -> SNSClient:
        return self._session.client("sns", config=self._config)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self._session.client("dynamodb", config=self._config)

    @cached_property
    def securityhub(self) -> SecurityHubClient:
        return self._session.client("securityhub", config=self._config)


class LazyClient:
    """Stands in for a client that only some paths use (EC2 for security groups, SNS for alerts).

    Creating a client parses its service model, EC2's being the largest botocore ships (tens of
    milliseconds on a cold start); a path that never calls the service should not pay for it.
    The real client is `AwsClients`' own, created on first attribute access and shared, so hooks
    registered on `clients.<service>` apply to calls made through the stand-in.
    """

    def __init__(self, clients: AwsClients, service: str) -> None:
        self._clients = clients
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(getattr(self._clients, self._service), name)


# A LazyClient passes every attribute through to the real client: typed as that client.
@overload
def lazy_client(clients: AwsClients, service: Literal["ec2"]) -> EC2Client: ...
@overload
def lazy_client(clients: AwsClients, service: Literal["sns"]) -> SNSClient: ...
@overload
def lazy_client(clients: AwsClients, service: Literal["securityhub"]) -> SecurityHubClient: ...
def lazy_client(clients: AwsClients, service: str) -> Any:
    return LazyClient(clients, service)
