"""One AWS session for a command: region, profile and endpoint from the global options, clients
with the guard's retry configuration, and AWS failures turned into messages a person can act on."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable
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
from botocore.parsers import ResponseParserError

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

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.AWS_ERROR, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hint = hint


def validate_endpoint_url(url: str | None) -> str | None:
    """An endpoint botocore can use: http(s)://host[:port][/path]. botocore itself raises a bare
    ValueError deep in client creation (a traceback, exit code 1 = "findings" to a CI gate)."""
    if url is None:
        return None
    value = url.strip()
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise CliError(
            f"--endpoint-url {url!r} has no scheme",
            ExitCode.USAGE,
            f"did you mean http://{value}?" if value else "pass a URL such as http://127.0.0.1:5055",
        )
    scheme, rest = value.split("://", 1)
    if scheme.lower() not in ("http", "https"):
        raise CliError(
            f"--endpoint-url {url!r}: scheme {scheme!r} is not supported (http or https)",
            ExitCode.USAGE,
        )
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    port = host.rsplit(":", 1)[1] if re.search(r":[^\]]*$", host) else None
    if not host or host.startswith(":") or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise CliError(f"--endpoint-url {url!r} names no valid host and port", ExitCode.USAGE)
    return value


def known_regions() -> set[str]:
    """Every region of every partition this botocore knows (its endpoints data)."""
    loader = boto3.session.Session()._session.get_component("data_loader")
    return {
        region for partition in loader.load_data("endpoints")["partitions"] for region in partition.get("regions", {})
    }


def validate_region(region: str) -> str:
    import botocore

    regions = known_regions()
    if region in regions:
        return region
    close = difflib.get_close_matches(region, sorted(regions), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "pass --region, e.g. us-east-1."
    raise CliError(
        f"unknown region {region!r}: not one of the {len(regions)} regions botocore {botocore.__version__} knows",
        ExitCode.USAGE,
        hint + " (a region newer than this botocore needs a newer boto3)",
    )


_TAG = re.compile(r"<[^>]+>")


def summarise_body(body: str | bytes, limit: int = 160) -> str:
    """A response body as one short line: an HTML page's title and text, never the markup."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    stripped = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", " ", text)
    words = " ".join(html.unescape(_TAG.sub(" ", stripped)).split())
    if title and title.group(1).strip() and not words.startswith(title.group(1).strip()):
        words = f"{html.unescape(title.group(1).strip())}: {words}"
    return words if len(words) <= limit else words[: limit - 1] + "\u2026"


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(!doctype|html|head|body)\b", text, re.I))


def explain_aws_error(exc: Exception) -> CliError:
    """What went wrong talking to AWS, and what to do about it."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, ResponseParserError):
        # Not AWS (or not this service) behind the endpoint: a web server, a proxy's error page.
        message = str(exc)
        body = message.split("\n", 1)[1] if "\n" in message else message
        if body.startswith(("b'", 'b"')):
            body = body[2:-1].encode("latin-1", "replace").decode("unicode_escape", "replace")
        what = "an HTML page" if _looks_like_html(body) else "something that is not an AWS API response"
        return CliError(
            f"the endpoint answered with {what}: {summarise_body(body)}",
            hint="check --endpoint-url (the embedded AWS: `make sandbox` prints it) or a proxy",
        )
    if isinstance(exc, ValueError) and str(exc).startswith("Invalid endpoint"):
        return CliError(f"{exc} (an endpoint URL needs http:// or https://)", ExitCode.USAGE)
    if isinstance(exc, ProfileNotFound):
        return CliError(str(exc), ExitCode.USAGE, "list your profiles with `aws configure list-profiles`")
    if isinstance(exc, NoRegionError):
        return CliError("no AWS region configured", ExitCode.USAGE, "pass --region or set AWS_REGION")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CliError(
            "no AWS credentials found",
            hint="configure credentials (`aws configure`, `aws sso login`, AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile",
        )
    if isinstance(exc, SSOError | TokenRetrievalError):
        return CliError(f"AWS SSO credentials are not usable: {exc}", hint="run `aws sso login`")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return CliError(f"cannot reach AWS: {exc}", hint="check --endpoint-url, the network or a proxy")
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
        if _looks_like_html(message) or len(message) > 300:
            message = summarise_body(message)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if not code and not message and status:
            # No AWS error document at all (a proxy's or a web server's error page).
            return CliError(
                f"{operation} failed: HTTP {status} without an AWS error in the body",
                hint="check --endpoint-url (the embedded AWS: `make sandbox` prints it) or a proxy",
            )
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

    def __post_init__(self) -> None:
        self.endpoint_url = validate_endpoint_url(self.endpoint_url)

    @cached_property
    def session(self) -> boto3.session.Session:
        if self.region is not None:
            validate_region(self.region)
        try:
            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound as exc:
            raise explain_aws_error(exc) from None
        if not session.region_name:
            raise explain_aws_error(NoRegionError())
        # From --region, AWS_REGION or the profile: an unknown one is a typo, not a network
        # problem (botocore would try https://sts.<typo>.amazonaws.com and fail to connect).
        validate_region(session.region_name)
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region_name)
        if key not in self._clients:
            # One cache for every service the CLI reads: its clients are untyped (`Any`), not the
            # stubs' one overload per literal service name.
            create: Callable[..., Any] = self.session.client
            try:
                self._clients[key] = create(
                    service, region_name=key[1], endpoint_url=self.endpoint_url, config=CLI_CONFIG
                )
            except ValueError as exc:  # AWS_ENDPOINT_URL(_<SERVICE>) without a scheme
                raise explain_aws_error(exc) from None
        return self._clients[key]

    @cached_property
    def account(self) -> str:
        """The account the credentials belong to; the first call, so bad credentials fail here."""
        return str(self.client("sts").get_caller_identity()["Account"])
