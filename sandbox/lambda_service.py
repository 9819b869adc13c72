"""Lambda's asynchronous invocation, as EventBridge targets get it, for the embedded AWS.

An EventBridge rule invokes its Lambda target asynchronously: the function runs once, is retried
up to MaximumRetryAttempts times (2 by default and in template.yaml) when it raises, and then the
event goes to the on-failure destination (the dead-letter queue) as an invocation record. The
sandbox routes each rule to an SQS queue per function (moto cannot run our Lambda) and this
module pulls from those queues and invokes the real handler with those semantics.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    function_name: str = "ict-guard-job-guard"
    account: str = "123456789012"
    region: str = "us-east-1"
    memory_limit_in_mb: int = 256
    timeout_ms: int = 120_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@dataclass
class Invocation:
    event: Any
    attempts: int = 0
    result: Any = None
    errors: list[str] = field(default_factory=list)
    dead_lettered: bool = False
    last_error: BaseException | None = field(default=None, repr=False)

    @property
    def succeeded(self) -> bool:
        return not self.dead_lettered


def on_failure_record(event: Any, context: LambdaContext, attempts: int, error: BaseException) -> dict[str, Any]:
    """The record Lambda sends to an asynchronous on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "requestContext": {
            "requestId": context.aws_request_id,
            "functionArn": f"{context.invoked_function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }


class AsyncLambda:
    def __init__(
        self,
        handler: Handler,
        *,
        function_name: str = "ict-guard-job-guard",
        account: str = "123456789012",
        region: str = "us-east-1",
        max_retry_attempts: int = 2,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.handler = handler  # public: a campaign wraps it to label each run
        self._function_name = function_name
        self._account = account
        self._region = region
        self._max_retry_attempts = max_retry_attempts
        self._on_failure = on_failure
        self.pending: list[Invocation] = []

    def invoke(self, event: Any, *, defer_retries: bool = False) -> Invocation:
        """One asynchronous invocation: the first attempt, then Lambda's retries.

        Lambda waits about a minute before the first retry and two before the second, so other
        work (a concurrent duplicate holding the job) finishes in between. With `defer_retries`
        a failed first attempt leaves the invocation pending; `retry_pending()` is that later
        minute. Without it the retries follow at once, as when nothing else is running.
        """
        invocation = Invocation(event)
        self._attempt(invocation)
        if invocation.result is _PENDING:
            if defer_retries:
                self.pending.append(invocation)
            else:
                self._finish(invocation)
        return invocation

    def retry_pending(self) -> list[Invocation]:
        """Run the retries of every deferred invocation (each to its end)."""
        waiting, self.pending = self.pending, []
        for invocation in waiting:
            self._finish(invocation)
        return waiting

    def _finish(self, invocation: Invocation) -> None:
        while invocation.result is _PENDING and invocation.attempts <= self._max_retry_attempts:
            self._attempt(invocation)
        if invocation.result is _PENDING:
            invocation.result = None
            invocation.dead_lettered = True
            if self._on_failure is not None and invocation.last_error is not None:
                context = LambdaContext(self._function_name, self._account, self._region)
                self._on_failure(
                    on_failure_record(invocation.event, context, invocation.attempts, invocation.last_error)
                )

    def _attempt(self, invocation: Invocation) -> None:
        invocation.attempts += 1
        context = LambdaContext(self._function_name, self._account, self._region)
        try:
            invocation.result = self.handler(invocation.event, context)
        except Exception as exc:  # Lambda retries on any unhandled error
            invocation.last_error = exc
            invocation.errors.append(f"{type(exc).__name__}: {exc}")
            invocation.result = _PENDING


_PENDING: Any = object()  # an attempt failed and retries remain


class QueueTarget:
    """Pulls what EventBridge rules delivered to a function's stand-in queue, invokes it."""

    def __init__(self, sqs: Any, queue_url: str, function: AsyncLambda) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._function = function

    def drain(self) -> list[Invocation]:
        invocations = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return invocations
            for message in messages:
                invocations.append(self._function.invoke(json.loads(message["Body"])))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


def sqs_dead_letter(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    def send(record: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))

    return send
