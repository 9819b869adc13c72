"""The durable record of what the guard owes a job, written before the job is stopped.

If a function dies between StopTrainingJob and a later step, the job is no longer InProgress and
nothing on it may say who stopped it; this record does, and carries the exact re-launch request,
so the retry finishes the work and nothing of the original specification is lost. A copy that
SageMaker refused after the stop is recorded too (`refusal`), so that retries and sweeps neither
repeat the request nor the alert. It shares the idempotency table (same key and TTL attributes as
Powertools, a prefix of its own).

An item that still owes work (not settled) carries `sweep_index` = "owed", the key of the table's
sparse global secondary index `SweepIndex`: the sweep finds every owed job with one Query instead of
listing stopped jobs of every kind; `settle` removes the attribute, so the index holds only owed
work (DynamoDB developer guide, "Take advantage of sparse indexes"). The sweep's cursor (how far
back every created job has been judged) lives in the same index partition, so that one Query also
reads it.

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
from decimal import Decimal
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
# The sparse index of owed work (template.yaml, IdempotencyTable.GlobalSecondaryIndexes).
SWEEP_INDEX_NAME = "SweepIndex"
SWEEP_INDEX_ATTR = "sweep_index"
OWED = "owed"
SWEEP_CURSOR_KEY = "ict-guard-sweep#cursor"
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

    def record(
        self, job_key: str, intent: Intent, relaunch_request: dict[str, Any] | None, *, job_name: str | None = None
    ) -> None:
        """The intent, before the stop; owed (in `SweepIndex`) until `settle`. `job_name` is the
        name as SageMaker spells it (the key is lower-cased), for the sweep's resume."""
        now = int(self._clock())
        values: dict[str, Any] = {
            self._key_attr: KEY_PREFIX + job_key,
            self._expiry_attr: now + RETENTION_SECONDS,
            "intent": intent.value,
            "settled": False,
            "recorded_at": now,
            **_owed(job_name),
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

    def _update(self, job_key: str, values: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
        names = {f"#{i}": name for i, name in enumerate(values)}
        removed = {f"#r{i}": name for i, name in enumerate(remove)}
        expression = "SET " + ", ".join(f"{n} = :{n[1:]}" for n in names)
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        self._db.update_item(
            TableName=self._table,
            Key=self._key(job_key),
            UpdateExpression=expression,
            ExpressionAttributeNames={**names, **removed},
            ExpressionAttributeValues={f":{n[1:]}": _SERIALIZER.serialize(values[v]) for n, v in names.items()},
        )

    def record_refusal(
        self, job_key: str, message: str, relaunch_request: dict[str, Any], *, job_name: str | None = None
    ) -> None:
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
                **_owed(job_name),
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
        """Nothing more is owed: the item leaves `SweepIndex`."""
        self._update(
            job_key, {"settled": True, "outcome": outcome, "settled_at": int(self._clock())}, remove=(SWEEP_INDEX_ATTR,)
        )

    # -- the sweep's view ---------------------------------------------------------------------------

    def sweep_state(self) -> SweepState:
        """Every owed job and the sweep's cursor, from `SweepIndex` (DynamoDB Query, paginated;
        eventually consistent like every index read: an item written a moment ago may show at the
        next sweep, and a cursor read stale is older, which only widens the next listing)."""
        owed: list[OwedJob] = []
        cursor: float | None = None
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=SWEEP_INDEX_NAME,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": SWEEP_INDEX_ATTR},
            ExpressionAttributeValues={":p": {"S": OWED}},
        )
        for page in pages:
            for raw in page.get("Items", []):
                item = {key: _DESERIALIZER.deserialize(value) for key, value in raw.items()}
                key = str(item.get(self._key_attr, ""))
                if key == SWEEP_CURSOR_KEY:
                    cursor = float(item["listed_through"]) if "listed_through" in item else None
                elif key.startswith(KEY_PREFIX):
                    job_key = key.removeprefix(KEY_PREFIX)
                    kind, _, name = job_key.partition("/")
                    owed.append(OwedJob(job_key, kind, item.get("job_name") or name))
        return SweepState(owed, cursor)

    def advance_sweep_cursor(self, listed_through: float) -> bool:
        """Record that every job created (every schedule changed) before `listed_through` (epoch
        seconds) has been judged. Never moves back: a conditional update, so that of two
        overlapping sweeps the later cursor stays. Returns whether it moved."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_item({self._key_attr: SWEEP_CURSOR_KEY}),
                UpdateExpression="SET #t = :t, #p = :p, #e = :e",
                ConditionExpression="attribute_not_exists(#t) OR #t < :t",
                ExpressionAttributeNames={"#t": "listed_through", "#p": SWEEP_INDEX_ATTR, "#e": self._expiry_attr},
                ExpressionAttributeValues={
                    ":t": _SERIALIZER.serialize(Decimal(repr(listed_through))),
                    ":p": {"S": OWED},
                    ":e": _SERIALIZER.serialize(int(self._clock()) + RETENTION_SECONDS),
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True


@dataclass(frozen=True)
class OwedJob:
    """A ledger item not settled: `key` (kind/name in lower case), the kind's value, the name."""

    key: str
    kind: str
    name: str


@dataclass(frozen=True)
class SweepState:
    owed: list[OwedJob]
    cursor: float | None  # epoch seconds; None before the first complete listing


def _owed(job_name: str | None) -> dict[str, Any]:
    """The attributes that put a ledger item in `SweepIndex` (with the name the sweep resumes by)."""
    return {SWEEP_INDEX_ATTR: OWED, **({"job_name": job_name} if job_name else {})}
