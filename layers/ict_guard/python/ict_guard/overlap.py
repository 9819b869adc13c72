"""AWS calls that overlap: one call started on a thread of its own while the caller makes another.

The job guard waits for AWS most of the time it runs, and some of its calls do not depend on each
other (the reads a decision needs, the idempotency lock; in `stop` mode the stop and the ledger
write). `Started` runs one such call beside the caller and hands its answer (or its exception)
back when asked; nothing is shared but the boto3 clients, which are thread-safe.

A plain thread rather than a pool: `concurrent.futures` is not otherwise imported by the guard, and
a cold start should not pay for it; a thread per call costs well under a millisecond.

X-Ray: its recorder keeps the current segment in a thread-local. Inside Lambda (the only place the
guard traces) the segment of the caller is handed to the new thread, so that the overlapping
call's subsegment sits under the handler's like the others, not under a facade of its own.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Started(Generic[T]):
    """`call()` running on its own thread from construction; `result()` waits and returns its
    value or raises its exception, as the call made in place would have."""

    def __init__(self, call: Callable[[], T], name: str = "ict-guard-call") -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        trace = _trace_entity()
        self._thread = threading.Thread(target=self._run, args=(call, trace), name=name, daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T], trace: Any) -> None:
        recorder = _adopt(trace)
        try:
            self._value = call()
        except BaseException as exc:  # handed to whoever asks for the result, in its thread
            self._error = exc
        finally:
            if recorder is not None:
                recorder.clear_trace_entities()

    def wait(self) -> None:
        """Until the call has ended, whatever its outcome (nothing of it is left running)."""
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was raised


def _trace_entity() -> Any:
    """The caller's X-Ray entity, when the X-Ray SDK is loaded and runs in Lambda; else None.

    Outside Lambda there is no segment to hand over (and asking for one logs a missing context),
    and a process that never imported the SDK does not import it here."""
    core = sys.modules.get("aws_xray_sdk.core")
    launcher = sys.modules.get("aws_xray_sdk.core.lambda_launcher")
    if core is None or launcher is None:
        return None
    recorder = core.xray_recorder
    if not isinstance(recorder.context, launcher.LambdaContext):
        return None
    return recorder.get_trace_entity()


def _adopt(trace: Any) -> Any:
    if trace is None:
        return None
    recorder = sys.modules["aws_xray_sdk.core"].xray_recorder
    recorder.set_trace_entity(trace)
    return recorder
