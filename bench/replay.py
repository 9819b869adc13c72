"""The baseline: the guard's recorded calls, replayed with bare boto3 clients for another job.

A recording is the guard's calls for one subject (job name, security groups), with the API
parameters it sent. A replay substitutes another subject's names and ids, and gives Powertools'
idempotency keys fresh values (they hash the first job's event, so a replay would otherwise meet
the first record), so that AWS does the same work again: same operations, same payloads.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bench.calls import Call

# Powertools writes "<function>.<module>.<function name>#<md5 of the payload>".
_IDEMPOTENCY_HASH = re.compile(r"#[0-9a-f]{32}\b")

ReplayCall = tuple[str, str, dict[str, Any]]  # (service, client method, params)


@dataclass(frozen=True)
class Recording:
    calls: tuple[
        tuple[str, str, str, str | None], ...
    ]  # (service, method, params JSON, error code)
    tokens: dict[str, str]

    @classmethod
    def of(cls, calls: list[Call], tokens: dict[str, str]) -> Recording:
        return cls(
            tuple(
                (c.service, c.method, json.dumps(c.params, default=str), c.error_code)
                for c in calls
            ),
            dict(tokens),
        )

    def __len__(self) -> int:
        return len(self.calls)

    def for_subject(self, tokens: dict[str, str]) -> list[tuple[ReplayCall, str | None]]:
        """The calls with this recording's tokens replaced by `tokens` (same keys, other values)."""
        mapping = {self.tokens[key]: tokens[key] for key in self.tokens}
        fresh: dict[str, str] = {}

        def rewrite(text: str) -> str:
            for old in sorted(mapping, key=len, reverse=True):
                text = text.replace(old, mapping[old])
            return _IDEMPOTENCY_HASH.sub(
                lambda m: fresh.setdefault(m.group(0), "#" + uuid.uuid4().hex), text
            )

        return [
            ((service, method, json.loads(rewrite(params))), error)
            for service, method, params, error in self.calls
        ]

    def to_json(self, tokens: dict[str, str]) -> list[ReplayCall]:
        return [call for call, _ in self.for_subject(tokens)]


class BareClients:
    """Plain boto3 clients (default configuration), one per service, created on first use."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def run(self, calls: list[tuple[ReplayCall, str | None]]) -> None:
        for (service, method, params), expected_error in calls:
            try:
                getattr(self.client(service), method)(**params)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != expected_error:
                    raise
