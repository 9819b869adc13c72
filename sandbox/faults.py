"""Fault injection for the embedded AWS: what the network and AWS do to a client, per HTTP attempt.

The injector takes the place of the network between one boto3 client and the embedded AWS. It is
the client's `before-send` handler, the event botocore emits for every HTTP *attempt* (not once
per API call, as `before-call` is), so botocore's own retry handler sees each fault exactly as it
would see one from AWS: throttling and 5xx as HTTP responses, timeouts as the exceptions its HTTP
layer raises. What survives botocore's retries reaches the guard, as in production.

Faults, drawn per attempt from a seeded random generator at a configurable rate:

- `throttling`: HTTP 400 (EC2: 503) with the service's throttling code; the service did nothing.
- `server-error`: HTTP 500 or 503 with the service's code; modelled as "the service did nothing".
- `connect-timeout`: `ConnectTimeoutError`; the request never reached the service.
- `read-timeout`: `ReadTimeoutError` raised *after* the service handled the request: the call took
  effect and its answer was lost. The retry then meets the effect of its own first attempt
  (`ResourceInUse`, a job already `Stopping`, a conditional write that fails), the fault that
  tests idempotency hardest.
- `access-denied`: HTTP 400 `AccessDeniedException`, which no retry fixes (a role the guard may
  not pass, a missing permission). Not in the default mix: for scripted, permanent failures.

Why the injector is the transport rather than a hook beside moto's: botocore calls every
`before-send` handler, so a synthetic response returned beside moto's stubber would not stop moto
from executing the request. The injector therefore unregisters moto's stubber from the one client
it is attached to and calls it itself when the attempt goes through (in server mode it sends the
request over HTTP). Clients it is not attached to are untouched.

Backoff: botocore's standard mode sleeps `rand(0, 1) * min(base * 2**i, 20)` seconds between
attempts (base 1 s for throttling). A fault run of hundreds of jobs would sleep for minutes, so
`attach(..., zero_backoff=True)` re-registers the client's standard retry handler
(`botocore.retries.standard.register_retry_handler`, with the client's own total attempts) behind
a wrapper that keeps every decision of that handler (retry or not, the retry quota) and replaces
only the delay by 0, adding the delay it skipped to `backoff_skipped_seconds`.
"""

from __future__ import annotations

import enum
import io
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.retries import standard


class Fault(enum.StrEnum):
    THROTTLING = "throttling"
    SERVER_ERROR = "server-error"
    CONNECT_TIMEOUT = "connect-timeout"
    READ_TIMEOUT = "read-timeout"  # the service acted; the answer was lost
    ACCESS_DENIED = "access-denied"  # permanent: botocore does not retry it


TRANSIENT_FAULTS = (Fault.THROTTLING, Fault.SERVER_ERROR, Fault.CONNECT_TIMEOUT, Fault.READ_TIMEOUT)


@dataclass(frozen=True)
class FaultProfile:
    """What to inject: `rate` is the probability that one HTTP attempt fails; the fault kind is
    drawn with `weights`. `operations` limits injection to some operations (e.g. {"PutItem"}),
    `services` to some services (botocore's hyphenated service ids: sagemaker, ec2, sns, dynamodb).
    """

    rate: float = 0.2
    seed: int = 0
    weights: Mapping[Fault, float] = field(
        default_factory=lambda: dict.fromkeys(TRANSIENT_FAULTS, 1.0)
    )
    services: frozenset[str] | None = None
    operations: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate {self.rate} is not a probability")
        if (
            not self.weights
            or any(w < 0 for w in self.weights.values())
            or not sum(self.weights.values())
        ):
            raise ValueError("weights must be non-negative and not all zero")


# The error each service answers with, per protocol: (HTTP status, code).
_THROTTLING = {
    "ec2": (503, "RequestLimitExceeded"),
    "sns": (400, "Throttling"),
    "dynamodb": (400, "ThrottlingException"),
}
_DEFAULT_THROTTLING = (400, "ThrottlingException")
_SERVER_ERRORS = {
    "ec2": ((500, "InternalError"), (503, "Unavailable")),
    "sns": ((500, "InternalError"), (503, "ServiceUnavailable")),
    "dynamodb": ((500, "InternalServerError"), (503, "ServiceUnavailable")),
}
_DEFAULT_SERVER_ERRORS = ((500, "InternalFailure"), (503, "ServiceUnavailable"))
_ACCESS_DENIED = {"ec2": "UnauthorizedOperation", "sns": "AuthorizationError"}


_SERVICE_LOCK = threading.RLock()


class _Body(io.BytesIO):
    """A raw HTTP body as botocore reads it (`stream()`)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def error_response(url: str, protocol: str, status: int, code: str, message: str) -> AWSResponse:
    """An AWS error response in the wire format of `protocol` (json, query, ec2, rest-json)."""
    request_id = str(uuid.uuid4())
    if protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        headers = {"Content-Type": "text/xml;charset=UTF-8"}
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>"
            + ("Receiver" if status >= 500 else "Sender")
            + f"</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    elif protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    else:  # pragma: no cover - the guard's services use the protocols above
        raise ValueError(f"no error format for protocol {protocol!r}")
    headers["x-amzn-RequestId"] = request_id
    return AWSResponse(url, status, headers, _Body(body.encode("utf-8")))


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt of an attached client, and what was done to it."""

    label: Any
    service: str
    operation: str
    fault: Fault | None

    @property
    def took_effect(self) -> bool:
        """The service executed the request (whether or not the client got the answer)."""
        return self.fault is None or self.fault is Fault.READ_TIMEOUT

    @property
    def answered(self) -> bool:
        return self.fault is None


class FaultInjector:
    """Attach to clients with `attach`; read the figures from `injected`, `attempts`,
    `backoff_skipped_seconds` and `retries_granted`; `detach` restores the clients."""

    def __init__(self, profile: FaultProfile) -> None:
        self.profile = profile
        self._rng = random.Random(profile.seed)
        self._kinds = [k for k in profile.weights if profile.weights[k] > 0]
        self._kind_weights = [profile.weights[k] for k in self._kinds]
        self._lock = threading.Lock()
        self._attached: list[tuple[Any, Any]] = []
        self._http: Any = None
        self.enabled = True
        self.injected: Counter[tuple[str, str, Fault]] = Counter()  # (service, operation, fault)
        self.attempts: Counter[tuple[str, str]] = Counter()  # (service, operation)
        self.backoff_skipped_seconds = 0.0
        self.retries_granted = 0
        self._script: dict[str, list[Fault | None]] = {}
        # Who is calling (set by a campaign around each handler run), and every attempt made.
        self.label: Any = None
        self.log: list[Attempt] = []

    def script(self, operation: str, *faults: Fault | None) -> FaultInjector:
        """Fail the next attempts of `operation` (e.g. "PutItem") with `faults`, one per attempt
        (None lets that attempt through), before any random draw: for deterministic tests."""
        with self._lock:
            self._script.setdefault(operation, []).extend(faults)
        return self

    # -- wiring ---------------------------------------------------------------------------------

    def attach(self, *clients: Any, zero_backoff: bool = True) -> FaultInjector:
        from moto.core.models import botocore_stubber

        for client in clients:
            events = client.meta.events
            events.unregister("before-send", botocore_stubber)
            handler = self._make_transport(client, botocore_stubber)
            events.register_first("before-send", handler)
            self._attached.append((client, handler))
            if zero_backoff:
                self._zero_backoff(client)
        return self

    def detach(self) -> None:
        from moto.core.models import botocore_stubber

        for client, handler in self._attached:
            client.meta.events.unregister("before-send", handler)
            client.meta.events.register("before-send", botocore_stubber)
        self._attached.clear()

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(self, *_: Any) -> None:
        self.detach()

    def _zero_backoff(self, client: Any) -> None:
        retries = client.meta.config.retries or {}
        if retries.get("mode") != "standard":
            raise ValueError(f"zero_backoff needs standard retry mode, the client has {retries!r}")
        service = client.meta.service_model.service_id.hyphenize()
        unique_id = f"retry-config-{service}"
        events = client.meta.events
        events.unregister(f"needs-retry.{service}", unique_id=unique_id)
        handler = standard.register_retry_handler(
            client, max_attempts=retries.get("total_max_attempts")
        )
        events.unregister(f"needs-retry.{service}", unique_id=unique_id)

        def needs_retry(**kwargs: Any) -> float | None:
            delay = handler.needs_retry(**kwargs)
            if delay is None or delay is False:
                return delay  # no retry (False: the retry quota ran out on a long poll)
            with self._lock:
                self.backoff_skipped_seconds += float(delay)
                self.retries_granted += 1
            return 0

        events.register(f"needs-retry.{service}", needs_retry, unique_id=unique_id)

    # -- the transport --------------------------------------------------------------------------

    def _make_transport(self, client: Any, moto_stubber: Any):  # type: ignore[no-untyped-def]
        model = client.meta.service_model
        service = model.service_id.hyphenize()
        protocol = model.protocol

        def send(request: Any, event_name: str, **kwargs: Any) -> AWSResponse:
            operation = event_name.rsplit(".", 1)[-1]
            fault = self._draw(service, operation)
            if fault is Fault.CONNECT_TIMEOUT:
                raise ConnectTimeoutError(endpoint_url=request.url)
            if fault is Fault.THROTTLING:
                status, code = _THROTTLING.get(service, _DEFAULT_THROTTLING)
                return error_response(
                    request.url, protocol, status, code, "Rate exceeded (injected)"
                )
            if fault is Fault.ACCESS_DENIED:
                return error_response(
                    request.url,
                    protocol,
                    400,
                    _ACCESS_DENIED.get(service, "AccessDeniedException"),
                    "Injected: not authorized",
                )
            if fault is Fault.SERVER_ERROR:
                with self._lock:
                    status, code = self._rng.choice(
                        _SERVER_ERRORS.get(service, _DEFAULT_SERVER_ERRORS)
                    )
                return error_response(request.url, protocol, status, code, "Injected server error")
            response = self._forward(moto_stubber, request, event_name, **kwargs)
            if fault is Fault.READ_TIMEOUT:
                raise ReadTimeoutError(endpoint_url=request.url)
            return response

        return send

    def _forward(
        self, moto_stubber: Any, request: Any, event_name: str, **kwargs: Any
    ) -> AWSResponse:
        if moto_stubber.enabled:
            # AWS applies each request atomically (a DynamoDB conditional write above all); moto
            # in-process does not lock, so requests from concurrent threads are serialized here.
            with _SERVICE_LOCK:
                response = moto_stubber(event_name=event_name, request=request, **kwargs)
            if response is not None:
                return response
        if self._http is None:
            from botocore.httpsession import URLLib3Session

            self._http = URLLib3Session()
        return self._http.send(request)

    def _draw(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            self.attempts[(service, operation)] += 1
            fault = self._choose(service, operation)
            if fault is not None:
                self.injected[(service, operation, fault)] += 1
            self.log.append(Attempt(self.label, service, operation, fault))
            return fault

    def _choose(self, service: str, operation: str) -> Fault | None:
        profile = self.profile
        planned = self._script.get(operation)
        if planned:
            return planned.pop(0)
        if not self.enabled:
            return None
        if profile.services is not None and service not in profile.services:
            return None
        if profile.operations is not None and operation not in profile.operations:
            return None
        rng = self._generator(service, operation)
        if rng.random() >= profile.rate:
            return None
        return rng.choices(self._kinds, self._kind_weights)[0]

    def _generator(self, service: str, operation: str) -> random.Random:
        """Where this attempt's draw comes from: one seeded generator, in call order."""
        return self._rng

    # -- figures --------------------------------------------------------------------------------

    def by_kind(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for (_, _, fault), n in self.injected.items():
            counts[fault.value] += n
        return {
            fault.value: counts[fault.value]
            for fault in Fault
            if counts[fault.value] or fault in TRANSIENT_FAULTS
        }

    def by_service(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for (service, _, _), n in self.injected.items():
            counts[service] += n
        return dict(sorted(counts.items()))

    @property
    def total_attempts(self) -> int:
        return sum(self.attempts.values())

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())


def guard_clients(clients: Any) -> Iterable[Any]:
    """Every client of an `ict_guard.aws.AwsClients` (the idempotency store uses its dynamodb)."""
    return (clients.sagemaker, clients.ec2, clients.sns, clients.dynamodb)
