"""AWS calls that overlap: a call run on a thread of its own while the caller makes another (boto3
clients are thread-safe; a bare thread spares a cold start concurrent.futures). In Lambda, the
caller's X-Ray entity (thread-local) is handed to the thread, so the subsegment nests as usual."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Started(Generic[T]):
    """`call()`, running from construction; `result()` waits, then returns or raises as the call
    made in place would have."""

    def __init__(self, call: Callable[[], T], name: str = "ict-guard-call") -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, _trace()), name=name, daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T], trace: tuple[Any, Any] | None) -> None:
        if trace:
            trace[0].set_trace_entity(trace[1])
        try:
            self._value = call()
        except BaseException as exc:
            self._error = exc
        finally:
            if trace:
                trace[0].clear_trace_entities()

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when no error was raised


def _trace() -> tuple[Any, Any] | None:
    """(X-Ray recorder, the caller's entity) when the SDK is loaded and runs in Lambda; elsewhere
    there is nothing to hand over (and asking would log a missing context)."""
    core, launcher = sys.modules.get("aws_xray_sdk.core"), sys.modules.get("aws_xray_sdk.core.lambda_launcher")
    if core is None or launcher is None or not isinstance(core.xray_recorder.context, launcher.LambdaContext):
        return None
    return core.xray_recorder, core.xray_recorder.get_trace_entity()
