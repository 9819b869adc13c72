"""One AWS session for a command: region, profile and endpoint from the global options, clients
with the guard's retry configuration, and AWS failures turned into messages a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from ict_guard import __version__
from ict_guard.aws import RETRY_CONFIG
from ict_guard.errors import error_code

from ict_guard_cli import ExitCode

# The guard's retry policy (standard mode, 5 attempts: List/Describe calls of a large account
# meet SageMaker's API throttling), with the CLI named in the user agent.
CLI_CONFIG = RETRY_CONFIG.merge(Config(user_agent_extra=f"sagemaker-ict-guard-cli/{__version__}"))

# Codes AWS answers with when the credentials themselves are the problem.
_BAD_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "IncompleteSignature",
}
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Unauthorized"}


class CliError(Exception):
    """A failure the CLI reports as one message and an exit code, without a stack trace."""

    def __init__(
        self, message: str, exit_code: ExitCode = ExitCode.AWS_ERROR, hint: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hint = hint


def explain_aws_error(exc: Exception) -> CliError:
    """What went wrong talking to AWS, and what to do about it."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, ProfileNotFound):
        return CliError(
            str(exc), ExitCode.USAGE, "list your profiles with `aws configure list-profiles`"
        )
    if isinstance(exc, NoRegionError):
        return CliError(
            "no AWS region configured", ExitCode.USAGE, "pass --region or set AWS_REGION"
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CliError(
            "no AWS credentials found",
            hint="configure credentials (`aws configure`, `aws sso login`, AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile",
        )
    if isinstance(exc, SSOError | TokenRetrievalError):
        return CliError(f"AWS SSO credentials are not usable: {exc}", hint="run `aws sso login`")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return CliError(
            f"cannot reach AWS: {exc}", hint="check --endpoint-url, the network or a proxy"
        )
    if isinstance(exc, ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "an AWS call")
        if code in _BAD_CREDENTIALS:
            return CliError(
                f"AWS rejected the credentials ({code} on {operation})",
                hint="refresh them (expired session?) or pass --profile",
            )
        if code in ACCESS_DENIED:
            return CliError(
                f"permission denied: {operation} ({code})",
                hint="the README lists the read-only permissions ict-guard needs",
            )
        message = exc.response.get("Error", {}).get("Message", "")
        return CliError(f"{operation} failed: {code}: {message}".rstrip(": "))
    if isinstance(exc, BotoCoreError):
        return CliError(f"AWS SDK error: {exc}")
    return CliError(f"{type(exc).__name__}: {exc}")


def is_access_denied(exc: ClientError) -> bool:
    return error_code(exc) in ACCESS_DENIED


@dataclass
class AwsContext:
    """Session and clients for one command. Clients are created on first use and shared between
    threads (boto3 clients are thread-safe; sessions are not, so all clients come from here
    before work is handed to threads)."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @cached_property
    def session(self) -> boto3.session.Session:
        session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        if not session.region_name:
            raise explain_aws_error(NoRegionError())
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region_name)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url, config=CLI_CONFIG
            )
        return self._clients[key]

    @cached_property
    def account(self) -> str:
        """The account the credentials belong to; the first call, so bad credentials fail here."""
        return str(self.client("sts").get_caller_identity()["Account"])
