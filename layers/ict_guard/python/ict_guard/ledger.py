"""The durable record of what the guard owes a job, written before the job is stopped.

If a function dies between StopTrainingJob and a later step, the job is no longer InProgress and
nothing on it may say who stopped it; this record does, and carries the exact re-launch request,
so the retry finishes the work and nothing of the original specification is lost. It shares the
idempotency table (same key and TTL attributes as Powertools, a prefix of its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ict_guard.policy import History, Intent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "ict-guard-ledger#"
RETENTION_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class LedgerEntry:
    intent: Intent
    settled: bool
    relaunch_request: dict[str, Any] | None
    outcome: str | None = None
    recorded_at: float | None = None
    # Security-group rules an earlier run added (alert summaries), for the run that finishes.
    rules_added: list[dict[str, Any]] = field(default_factory=list)

    @property
    def history(self) -> History:
        return History(self.intent, self.settled)


class RemediationLedger:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        *,
        key_attr: str = "id",
        expiry_attr: str = "expiration",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = dynamodb
        self._table = table_name
        self._key_attr = key_attr
        self._expiry_attr = expiry_attr
        self._clock = clock

    def _key(self, job_key: str) -> dict[str, Any]:
        return {self._key_attr: {"S": KEY_PREFIX + job_key}}

    def location(self, job_key: str) -> str:
        """Where a person finds the record (and its full re-launch request)."""
        return f"DynamoDB table {self._table}, item {self._key_attr}={KEY_PREFIX}{job_key}"

    def record(self, job_key: str, intent: Intent, relaunch_request: dict[str, Any] | None) -> None:
        now = int(self._clock())
        item = {
            **self._key(job_key),
            self._expiry_attr: {"N": str(now + RETENTION_SECONDS)},
            "intent": {"S": intent.value},
            "settled": {"BOOL": False},
            "recorded_at": {"N": str(now)},
        }
        if relaunch_request is not None:
            item["relaunch_request"] = {"S": json.dumps(relaunch_request, sort_keys=True)}
        self._db.put_item(TableName=self._table, Item=item)

    def lookup(self, job_key: str) -> LedgerEntry | None:
        item = self._db.get_item(TableName=self._table, Key=self._key(job_key), ConsistentRead=True)
        item = item.get("Item")
        if not item or "intent" not in item:
            return None
        request = item.get("relaunch_request", {}).get("S")
        return LedgerEntry(
            intent=Intent(item["intent"]["S"]),
            settled=bool(item.get("settled", {}).get("BOOL", False)),
            relaunch_request=json.loads(request) if request else None,
            outcome=item.get("outcome", {}).get("S"),
            recorded_at=float(item["recorded_at"]["N"]) if "recorded_at" in item else None,
            rules_added=json.loads(item["rules_added"]["S"]) if "rules_added" in item else [],
        )

    def remember_rules(self, job_key: str, rules_added: list[dict[str, Any]]) -> None:
        """Keep what this run added for the run that finishes the work (and reports it)."""
        self._db.update_item(
            TableName=self._table,
            Key=self._key(job_key),
            UpdateExpression="SET rules_added = :r",
            ExpressionAttributeValues={":r": {"S": json.dumps(rules_added, sort_keys=True)}},
        )

    def settle(self, job_key: str, outcome: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=self._key(job_key),
            UpdateExpression="SET settled = :t, outcome = :o, settled_at = :now",
            ExpressionAttributeValues={
                ":t": {"BOOL": True},
                ":o": {"S": outcome},
                ":now": {"N": str(int(self._clock()))},
            },
        )
