"""The durable record of what the guard owes a job, written before the job is stopped.

If a function dies between StopTrainingJob and a later step, the job is no longer InProgress and
nothing on it may say who stopped it; this record does, and carries the exact re-launch request,
so the retry finishes the work and nothing of the original specification is lost. A copy that
SageMaker refused after the stop is recorded too (`refusal`), so that retries and sweeps neither
repeat the request nor the alert. It shares the idempotency table (same key and TTL attributes as
Powertools, a prefix of its own).

Items are (de)serialized with boto3's DynamoDB TypeSerializer. The re-launch request and rule
summaries are stored as JSON strings: they hold floats (DynamoDB numbers need Decimal) and are
read back whole, never queried.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ict_guard.policy import History, Intent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "ict-guard-ledger#"
# A DynamoDB item holds at most 400 KB (DynamoDB developer guide, "Service, account, and table
# quotas"). A request larger than this is stored zlib-compressed, as a binary attribute; the
# preflight refuses (before the stop) a request too large even so (MAX_STORED_REQUEST_BYTES).
COMPRESS_ABOVE_BYTES = 64_000
MAX_STORED_REQUEST_BYTES = 350_000
RETENTION_SECONDS = 30 * 24 * 3600
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


@dataclass(frozen=True)
class LedgerEntry:
    intent: Intent
    settled: bool
    relaunch_request: dict[str, Any] | None
    outcome: str | None = None
    recorded_at: float | None = None
    # SageMaker's message when it refused the copy after the stop (fallbacks included): the job
    # needs a person; the request above is the last one tried.
    refusal: str | None = None
    # An update in place (a schedule) that SageMaker answered: the guard knows the change is its own.
    confirmed: bool = False

    @property
    def history(self) -> History:
        return History(self.intent, self.settled)


def stored_request(request: dict[str, Any]) -> dict[str, Any]:
    """The ledger attributes that hold `request`: JSON text, or compressed JSON when large (the
    other attribute set to an empty value, so an update replaces whichever was there)."""
    text = json.dumps(request, sort_keys=True)
    if len(text.encode()) <= COMPRESS_ABOVE_BYTES:
        return {"relaunch_request": text}
    return {"relaunch_request": "", "relaunch_request_z": zlib.compress(text.encode(), 9)}


def stored_request_size(request: dict[str, Any]) -> int:
    """Bytes the ledger needs for `request` (the preflight's check)."""
    value = stored_request(request)
    return len(value.get("relaunch_request_z") or value["relaunch_request"].encode())


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(value) for key, value in values.items()}


class RemediationLedger:
    """The ledger on the idempotency table (DynamoDB GetItem, PutItem, UpdateItem; ClientError
    raised as botocore gives it)."""

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
        return _item({self._key_attr: KEY_PREFIX + job_key})

    def location(self, job_key: str) -> str:
        """Where a person finds the record (and its full re-launch request)."""
        return f"DynamoDB table {self._table}, item {self._key_attr}={KEY_PREFIX}{job_key}"

    def record(self, job_key: str, intent: Intent, relaunch_request: dict[str, Any] | None) -> None:
        now = int(self._clock())
        values: dict[str, Any] = {
            self._key_attr: KEY_PREFIX + job_key,
            self._expiry_attr: now + RETENTION_SECONDS,
            "intent": intent.value,
            "settled": False,
            "recorded_at": now,
        }
        if relaunch_request is not None:
            values.update(stored_request(relaunch_request))
        self._db.put_item(TableName=self._table, Item=_item(values))

    def lookup(self, job_key: str) -> LedgerEntry | None:
        raw = self._db.get_item(TableName=self._table, Key=self._key(job_key), ConsistentRead=True).get("Item")
        if not raw or "intent" not in raw:
            return None
        item = {key: _DESERIALIZER.deserialize(value) for key, value in raw.items()}
        request = item.get("relaunch_request")
        if not request and "relaunch_request_z" in item:
            compressed = item["relaunch_request_z"]
            request = zlib.decompress(getattr(compressed, "value", compressed)).decode()
        return LedgerEntry(
            intent=Intent(item["intent"]),
            settled=bool(item.get("settled", False)),
            relaunch_request=json.loads(request) if request else None,
            outcome=item.get("outcome"),
            recorded_at=float(item["recorded_at"]) if "recorded_at" in item else None,
            refusal=item.get("refusal"),
            confirmed=bool(item.get("confirmed", False)),
        )

    def _update(self, job_key: str, values: dict[str, Any]) -> None:
        names = {f"#{i}": name for i, name in enumerate(values)}
        self._db.update_item(
            TableName=self._table,
            Key=self._key(job_key),
            UpdateExpression="SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{n[1:]}": _SERIALIZER.serialize(values[v]) for n, v in names.items()},
        )

    def record_refusal(self, job_key: str, message: str, relaunch_request: dict[str, Any]) -> None:
        """SageMaker refused the copy (every fallback too): later runs alert once, then settle.

        The item may not exist (a run resumed from the job's tag after the ledger item expired):
        UpdateItem creates it, with the intent, so that `lookup` finds the refusal."""
        now = int(self._clock())
        self._update(
            job_key,
            {
                "intent": Intent.RELAUNCH.value,
                "settled": False,
                "refusal": message[:2000],
                **stored_request(relaunch_request),
                self._expiry_attr: now + RETENTION_SECONDS,
            },
        )

    def notified_version(self, job_key: str) -> str | None:
        """The configuration of a resource updated in place (a schedule) last alerted on without a
        change (notify mode, an exemption): alerted once per configuration, not once a day."""
        key = self._key(f"{job_key}#notified")
        raw = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") or {}
        version = raw.get("version", {}).get("S")
        return str(version) if version is not None else None

    def record_notified(self, job_key: str, version: str) -> None:
        item = {**self._key(f"{job_key}#notified"), **_item({"version": version})}
        item[self._expiry_attr] = _SERIALIZER.serialize(int(self._clock()) + RETENTION_SECONDS)
        self._db.put_item(TableName=self._table, Item=item)

    def confirm(self, job_key: str) -> None:
        """SageMaker answered the guard's update in place: a later run that finds the resource
        encrypted knows the change is the guard's, not someone else's."""
        self._update(job_key, {"confirmed": True})

    def settle(self, job_key: str, outcome: str) -> None:
        self._update(job_key, {"settled": True, "outcome": outcome, "settled_at": int(self._clock())})
