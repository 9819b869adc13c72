"""What every guard does with an incoming CloudTrail event before its own work: validate it,
drop what can never be handled (logged with the reason and the event id, counted, not retried),
and take the correlation id from the validated eventID only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ict_guard.events import FailedCall, MalformedEvent
from ict_guard.outcomes import Outcome, Result

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


class ParsedCall(Protocol):
    # Read-only: the parsed calls are frozen dataclasses.
    @property
    def event_id(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def region(self) -> str: ...


Call = TypeVar("Call", bound=ParsedCall)


def admit(
    event: Any,
    parse: Callable[[Any], Call],
    *,
    logger: Logger,
    count: Callable[[str], None],
    region: str,
    account: str | None,
) -> tuple[Call | None, dict[str, Any] | None]:
    """(the parsed call, None), or (None, the outcome to return without retry)."""
    try:
        call = parse(event)
    except MalformedEvent as exc:
        logger.set_correlation_id(exc.event_id)
        logger.warning("malformed event dropped, not retried", extra={"reason": exc.reason, "event_id": exc.event_id})
        count("MalformedEvents")
        return None, Result(Outcome.MALFORMED, reason=exc.reason).as_dict()
    except FailedCall as exc:
        logger.set_correlation_id(exc.event_id)
        logger.info("failed API call, nothing changed", extra={"error_code": exc.error_code, "event_id": exc.event_id})
        count("FailedCallEvents")
        return None, Result(Outcome.IGNORED, reason=str(exc)).as_dict()
    logger.set_correlation_id(call.event_id)
    if call.region != region or (account and call.account != account):
        reason = f"event for {call.account}/{call.region}, this guard runs in {account}/{region}"
        logger.warning("event for another account or region dropped", extra={"reason": reason})
        count("MalformedEvents")
        return None, Result(Outcome.MALFORMED, reason=reason).as_dict()
    return call, None
