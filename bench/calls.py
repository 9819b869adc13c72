"""Counting AWS calls with botocore's own event hooks.

The recorder registers `before-parameter-build`, `before-call`, `before-send` and `after-call`
handlers as botocore built-in handlers, so every session created while it is installed (the guard's own, made
by `ict_guard.aws.AwsClients`, whichever clients it creates and whenever) carries them. A call is
recorded when it reaches `before-call`, i.e. once per API call whatever botocore's retries do, and
only inside a `window()`. The guard's calls are told apart by the `sagemaker-ict-guard/<version>`
user agent its clients send; anything else recorded in a window is reported as unattributed.

Round trips: a window may model the network (`latency`, seconds per HTTP attempt, slept in
`before-send`, on whichever thread makes the call). Each call keeps when it was sent (`before-call`)
and answered (`after-call`), so that calls the guard makes at the same time (on threads of its own)
are seen overlapping, and each falls in a *round*: 1 + the largest round among the calls answered
before it was ready to go. A call is ready when the previous call of the thread that issued it
answered (the window's opening for that thread's first call); a call the guard hands to a thread
of its own (ict_guard.overlap) is issued by the handing thread. CPU time between the two
(Powertools' bookkeeping, a loaded machine's scheduling) is no round trip, and on a shared
machine it could otherwise make calls sent together look sequential. The rounds, not the
moments, are what tests assert.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
from botocore import xform_name

from ict_guard.ledger import SWEEP_CURSOR_KEY

GUARD_USER_AGENT = "sagemaker-ict-guard/"
# The guard's own DynamoDB table: Powertools idempotency records and the remediation ledger.
IDEMPOTENCY = "idempotency"
LEDGER = "ledger"
_READ_PREFIXES = ("Describe", "List", "Get", "Search", "BatchGet", "Query", "Scan")
_SERVICE_SHORT = {"sagemaker": "sm", "dynamodb": "ddb"}


@dataclass
class Call:
    service: str  # botocore's service name: sagemaker, ec2, sns, dynamodb
    operation: str  # API operation name: StopTrainingJob
    params: dict[str, Any]  # the API parameters as the caller passed them
    table_role: str | None = None  # IDEMPOTENCY / LEDGER for the guard's table, else None
    guard: bool = False
    status: int | None = None
    error_code: str | None = None
    sent: float | None = None  # perf_counter at before-call
    answered: float | None = None  # perf_counter at after-call
    thread: str = ""
    thread_id: int = 0
    issuer_id: int = 0  # the thread that issued it: its own, or the one that handed it over
    handed_over: bool = False  # made on a thread the guard started for it (ict_guard.overlap)
    round: int = 0  # set by CallLog.ordered(): 1 for the calls that wait for no other

    @property
    def method(self) -> str:
        return xform_name(self.operation)

    @property
    def mutating(self) -> bool:
        return not self.operation.startswith(_READ_PREFIXES)

    @property
    def on_guard_table(self) -> bool:
        return self.table_role is not None

    def label(self) -> str:
        service = _SERVICE_SHORT.get(self.service, self.service)
        role = f"[{self.table_role}]" if self.table_role else ""
        error = f"!{self.error_code}" if self.error_code else ""
        return f"{service}:{self.operation}{role}{error}"


@dataclass
class CallLog:
    """The calls of one window (one handler invocation, one replay)."""

    calls: list[Call] = field(default_factory=list)
    opened: float = field(default_factory=time.perf_counter)

    @property
    def guard_calls(self) -> list[Call]:
        """The guard's calls in a canonical order: by round, then by label within a round (calls
        of one round overlap, and their order on the wire is the threads')."""
        return self.ordered([c for c in self.calls if c.guard], self.opened)

    @staticmethod
    def ordered(calls: list[Call], opened: float | None = None) -> list[Call]:
        """`calls` with their rounds set (the module docstring), sorted by round and label."""
        by_sent = sorted(calls, key=lambda c: c.sent or 0.0)
        previous: dict[int, float] = {}  # thread -> when the last call made on it answered
        for index, call in enumerate(by_sent):
            sent = call.sent or 0.0
            start = opened if opened is not None else sent
            ready = min(sent, previous.get(call.issuer_id, start))
            if not call.handed_over:
                previous[call.thread_id] = call.answered or sent
            waited = [p.round for p in by_sent[:index] if p.answered is not None and p.answered <= ready]
            call.round = 1 + max(waited, default=0)
        return sorted(by_sent, key=lambda c: (c.round, c.label()))

    def rounds(self) -> list[list[str]]:
        """The guard's calls as rounds of labels."""
        rounds: list[list[str]] = []
        for call in self.guard_calls:
            while len(rounds) < call.round:
                rounds.append([])
            rounds[call.round - 1].append(call.label())
        return rounds

    @property
    def unattributed(self) -> list[Call]:
        return [c for c in self.calls if not c.guard]

    @property
    def account_calls(self) -> list[Call]:
        """The guard's calls on the account's resources (everything but its own table)."""
        return [c for c in self.guard_calls if not c.on_guard_table]

    @property
    def table_calls(self) -> list[Call]:
        return [c for c in self.guard_calls if c.on_guard_table]

    def count_by_role(self) -> Counter[str]:
        return Counter(c.table_role or "account" for c in self.guard_calls)

    def sequence(self) -> list[str]:
        return [c.label() for c in self.guard_calls]

    def position(self, operation: str) -> StopPosition | None:
        """Where `operation` (the stop) sits in the guard's sequence, and what came before it."""
        calls = self.guard_calls
        index = next((i for i, c in enumerate(calls) if c.operation == operation), None)
        if index is None:
            return None
        stop = calls[index]
        # Before the stop: the calls of earlier rounds; the ones of its own round are sent with it.
        before = [c for c in calls if c.round < stop.round]
        account_before = [c for c in before if not c.on_guard_table]
        return StopPosition(
            operation=operation,
            index=index + 1,
            account_index=len(account_before) + 1,
            account_reads_before=[c.operation for c in account_before if not c.mutating],
            account_writes_before=[c.operation for c in account_before if c.mutating],
            table_calls_before=[c.label() for c in before if c.on_guard_table],
            rounds_before=stop.round - 1,
            sent_with=[c.label() for c in calls if c.round == stop.round and c is not stop],
        )


@dataclass(frozen=True)
class StopPosition:
    operation: str
    index: int  # 1-based, in all of the guard's calls
    account_index: int  # 1-based, among its calls on the account (its own table left out)
    account_reads_before: list[str]
    account_writes_before: list[str]
    table_calls_before: list[str]
    rounds_before: int = 0  # sequential round trips before the stop is sent
    sent_with: list[str] = field(default_factory=list)  # calls of the stop's own round

    @property
    def first_mutating_account_call(self) -> bool:
        return not self.account_writes_before


class CallRecorder:
    """Install with `installed()`, then collect with `window()`.

    `table_name` and `ledger_prefix` classify DynamoDB calls on the guard's table: items whose
    key starts with the ledger prefix are the remediation ledger, the rest are Powertools'.
    """

    def __init__(self, table_name: str | None = None, ledger_prefix: str | None = None) -> None:
        self.table_name = table_name
        self.ledger_prefix = ledger_prefix
        self._log: CallLog | None = None
        self.latency = 0.0  # seconds per HTTP attempt in windows that do not say
        self._latency = 0.0
        self._handlers = (
            ("before-parameter-build", self._before_parameter_build),
            ("before-call", self._before_call),
            ("before-send", self._before_send),
            ("after-call", self._after_call),
        )

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Every botocore session created inside gets the hooks (moto registers itself the
        same way); removed again on exit, so later sessions are left alone."""
        from ict_guard import overlap

        builtin = botocore.handlers.BUILTIN_HANDLERS
        builtin.extend(self._handlers)
        started = overlap.Started.__init__

        def handed_over(started_self: Any, call: Any, name: str = "ict-guard-call") -> None:
            # A call the guard hands to a thread of its own is sent when it is handed over: how
            # long the machine takes to schedule that thread is not a round trip (on a loaded
            # machine it could make a call sent together with another look sequential).
            issued, issuer = time.perf_counter(), threading.get_ident()

            def timed() -> Any:
                thread = threading.current_thread()
                thread.ict_guard_issued, thread.ict_guard_issuer = issued, issuer  # type: ignore[attr-defined]
                return call()

            started(started_self, timed, name)

        overlap.Started.__init__ = handed_over  # type: ignore[method-assign]
        try:
            yield self
        finally:
            overlap.Started.__init__ = started  # type: ignore[method-assign]
            for handler in self._handlers:
                if handler in builtin:
                    builtin.remove(handler)

    @contextmanager
    def window(self, latency: float | None = None) -> Iterator[CallLog]:
        """Record the calls made until exit; `latency`: seconds slept per HTTP attempt (the
        modelled round trip; default `self.latency`)."""
        log = CallLog()
        previous, self._log = self._log, log
        saved, self._latency = self._latency, self.latency if latency is None else latency
        try:
            yield log
        finally:
            self._log = previous
            self._latency = saved

    # -- hooks (botocore passes everything as keywords) ----------------------------------------

    def _before_parameter_build(self, params: dict[str, Any], model: Any, context: dict, **_: Any) -> None:
        if self._log is None:
            return
        service = model.service_model.service_name
        context["bench_call"] = Call(
            service=service,
            operation=model.name,
            params=copy.deepcopy(params),
            table_role=self._table_role(service, params),
        )

    def _before_call(self, params: dict[str, Any], context: dict, **_: Any) -> None:
        call = context.get("bench_call")
        if self._log is None or call is None:
            return
        user_agent = str((params.get("headers") or {}).get("User-Agent", ""))
        call.guard = GUARD_USER_AGENT in user_agent
        thread = threading.current_thread()
        call.thread, call.thread_id = thread.name, threading.get_ident()
        issued = getattr(thread, "ict_guard_issued", None)
        call.handed_over = issued is not None
        call.issuer_id = getattr(thread, "ict_guard_issuer", call.thread_id)
        call.sent = issued or time.perf_counter()
        self._log.calls.append(call)

    def _before_send(self, **_: Any) -> None:
        # Every handler of before-send runs (moto's stubber answers beside this one): the sleep
        # adds the round trip to the attempt whatever the order.
        if self._log is not None and self._latency:
            time.sleep(self._latency)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], context: dict, **_: Any) -> None:
        call = context.get("bench_call")
        if call is None:
            return
        call.answered = time.perf_counter()
        call.status = getattr(http_response, "status_code", None)
        call.error_code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None

    def _table_role(self, service: str, params: dict[str, Any]) -> str | None:
        if service != "dynamodb" or self.table_name is None:
            return None
        if params.get("TableName") != self.table_name:
            return None
        if params.get("IndexName"):  # the ledger's SweepIndex: owed work and the sweep's cursor
            return LEDGER
        key = params.get("Key") or params.get("Item") or {}
        values = [v.get("S") for v in key.values() if isinstance(v, dict)]
        if any(isinstance(v, str) and v == SWEEP_CURSOR_KEY for v in values):
            return LEDGER
        if self.ledger_prefix and any(
            isinstance(v, str) and v.startswith(self.ledger_prefix) for v in values
        ):
            return LEDGER
        return IDEMPOTENCY
