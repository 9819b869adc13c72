"""Run-once for every guard: Powertools idempotency around the work, one place for the answer to a
repeated event (the first outcome, marked as a duplicate and counted) and for a held lock.

A held lock (`IdempotencyAlreadyInProgressError`) is raised as JobBusy so Lambda retries once it
expires: the holder may be a concurrent invocation, this invocation's own lock whose PutItem
answer was lost (botocore's retry then fails the condition on it), or a crashed run's. Callers
that another path backs up (a tuning job's child events, the sweep) may accept it instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from ict_guard.errors import JobBusy, OwedWorkInProgress
from ict_guard.outcomes import Outcome, Result

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from ict_guard.reporting import Reporter

Work = Callable[..., dict[str, Any]]
IdempotencyWrapper = Callable[[Work], Work]


class Idempotency(Protocol):
    """Powertools idempotency as a function's runtime sets it up (runtime._Wiring): the config
    whose response hook RunOnce sets, and the decorator for a keyword argument."""

    @property
    def config(self) -> IdempotencyConfig: ...

    def wrap(self, data_keyword_argument: str) -> IdempotencyWrapper: ...


class RunOnce:
    """`work(**{argument: payload})` at most once per idempotency key (see runtime.py)."""

    def __init__(
        self,
        work: Work,
        *,
        argument: str,
        idempotency: Idempotency | None,
        reporter: Reporter,
        logger: Logger,
    ) -> None:
        self._argument = argument
        self._reporter = reporter
        self._logger = logger
        self._once = work
        if idempotency is not None:
            # Set before the first call: a repeated event is answered through on_duplicate.
            idempotency.config.response_hook = self.on_duplicate
            self._once = idempotency.wrap(argument)(work)

    def __call__(self, payload: dict[str, Any], *, key: str, subject: str, busy_is_ok: bool = False) -> dict[str, Any]:
        try:
            return self._once(**{self._argument: payload})
        except (IdempotencyAlreadyInProgressError, OwedWorkInProgress) as exc:
            self._logger.info("being handled elsewhere", extra={"key": key, "busy_is_ok": busy_is_ok})
            self._reporter.count("ConcurrentDuplicateEvents")
            if busy_is_ok:
                return Result(Outcome.IN_PROGRESS_ELSEWHERE, subject).as_dict()
            raise JobBusy(key) from exc

    def on_duplicate(self, response: Any, idempotent_data: Any) -> Any:
        """Powertools' response hook: a repeated event gets the first outcome, marked as a
        repeat (the sweeper tells its catches from what was already handled), and is counted."""
        self._logger.info("duplicate event; already handled", extra={"outcome": response})
        self._reporter.count("DuplicateEvents")
        return {**response, "duplicate": True} if isinstance(response, dict) else response
