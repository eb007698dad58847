"""The notary: signs a tenant's head only after verifying the segment since its last checkpoint.

A record rewritten (or deleted, or a tail truncated) after the last checkpoint is therefore found by
the next batch instead of being signed over; the notary then signs nothing and returns a
TamperReport, which the ingest writes to the integrity log (`IntegrityLog`).
"""

import uuid
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Protocol

import rfc8785

from echo_shared.audit.checkpoints import (
    SIGNING_ALGORITHM,
    Checkpoint,
    CheckpointSigner,
    CheckpointStore,
    checkpoint_message,
)
from echo_shared.audit.errors import AuditStoreThrottled, ChainConflict, CheckpointError
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH, record_hash
from echo_shared.audit.records import AuditRecord
from echo_shared.audit.repository import AuditChainRepository, AuditChainWriter
from echo_shared.audit.verifier import ChainVerifier, Problem
from echo_shared.timeutil import Clock, format_rfc3339, utc_now

# The integrity log is a chain of its own in the audit table. Its key cannot be a tenant id (those
# start with a letter or digit), so no producer can write to it and no tenant can read it.
INTEGRITY_CHAIN: Final = "_integrity"
TAMPER_DETECTED: Final = "audit.tamper_detected"
_REPORT_NAMESPACE = uuid.UUID("5f0c7a8e-3b1d-4c2a-9e55-2f1d6b0a9c41")


@dataclass(frozen=True, slots=True)
class TamperReport:
    """What the notary found instead of signing; never carries record contents."""

    tenant: str
    problem: Problem
    first_bad_seq: int | None
    checkpoint_seq: int | None
    detail: str

    @property
    def event_id(self) -> str:
        # The same damage found by several batches is one report (the exactly-once guard dedupes).
        name = f"{self.tenant}|{self.problem}|{self.first_bad_seq}|{self.checkpoint_seq}"
        return str(uuid.uuid5(_REPORT_NAMESPACE, name))


type NotaryOutcome = Checkpoint | TamperReport | None


class Notary:
    def __init__(
        self,
        chain: AuditChainRepository,
        signer: CheckpointSigner,
        store: CheckpointStore,
        *,
        known_key_ids: Collection[str] = (),
        clock: Clock = utc_now,
    ) -> None:
        self._chain = chain
        self._signer = signer
        self._store = store
        self._clock = clock
        self._verifier = ChainVerifier(chain, store, signer, known_key_ids=known_key_ids, clock=clock)

    def checkpoint(self, tenant: str) -> NotaryOutcome:
        """Verify the segment since the last checkpoint, then sign and store its head.

        None if the chain is empty or its head is already signed. Raises CheckpointError (an
        infrastructure failure: the next batch tries again); the chain is never affected.
        """
        try:
            head = self._chain.head(tenant)
            if head is None:
                return None
            verdict = self._verifier.verify_segment(tenant, head_seq=head.seq)
        except AuditStoreThrottled as exc:
            raise CheckpointError("could not read the chain segment") from exc
        result = verdict.result
        if not result.ok or verdict.head is None:
            return TamperReport(
                tenant=tenant,
                problem=result.problem or Problem.MISSING_RECORD,
                first_bad_seq=result.first_bad_seq,
                checkpoint_seq=result.checkpoint_seq,
                detail=result.detail,
            )
        signed = verdict.head
        if result.checkpoint_seq == signed.seq:
            return None
        key_id, signature = self._signer.sign(checkpoint_message(tenant, signed.seq, signed.hash))
        checkpoint = Checkpoint(
            tenant=tenant,
            seq=signed.seq,
            hash=signed.hash,
            signed_at=self._clock(),
            key_id=key_id,
            signing_algorithm=SIGNING_ALGORITHM,
            signature=signature,
        )
        self._store.put(checkpoint)
        return checkpoint


class IntegrityLog:
    """Appends `audit.tamper_detected` records to the integrity chain, once per distinct finding."""

    def __init__(self, chain: AuditChainWriter, *, clock: Clock = utc_now, max_attempts: int = 5) -> None:
        self._chain = chain
        self._clock = clock
        self._max_attempts = max_attempts

    def record(self, report: TamperReport) -> AuditRecord | None:
        """The appended record, or None if this finding was already recorded.

        Raises ChainConflict after `max_attempts` lost races, AuditStoreThrottled.
        """
        data = {
            "tenant": report.tenant,
            "problem": str(report.problem),
            "first_bad_seq": report.first_bad_seq,
            "checkpoint_seq": report.checkpoint_seq,
            "detail": report.detail,
        }
        now = self._clock()
        occurred_at = format_rfc3339(now)
        event_id = report.event_id
        actor, action, resource = (
            "service:audit-ingest",
            "audit.verify_segment",
            f"audit-chain/{report.tenant}",
        )
        fields = {
            "event_id": event_id,
            "type": TAMPER_DETECTED,
            "tenant": INTEGRITY_CHAIN,
            "actor": actor,
            "action": action,
            "resource": resource,
            "outcome": "failure",
            "occurred_at": occurred_at,
            "request_id": event_id,
            "data": data,
        }
        for attempt in range(1, self._max_attempts + 1):
            head = self._chain.head(INTEGRITY_CHAIN)
            seq, prev_hash = (FIRST_SEQ, GENESIS_HASH) if head is None else (head.seq + 1, head.hash)
            record = AuditRecord(
                tenant=INTEGRITY_CHAIN,
                seq=seq,
                event_id=event_id,
                type=TAMPER_DETECTED,
                actor=actor,
                action=action,
                resource=resource,
                outcome="failure",
                occurred_at=occurred_at,
                request_id=event_id,
                data=rfc8785.dumps(data).decode(),
                prev_hash=prev_hash,
                hash=record_hash(fields, seq=seq, prev_hash=prev_hash),
                recorded_at=occurred_at,
            )
            try:
                self._chain.commit([record])
            except ChainConflict as exc:
                if report.event_id in exc.duplicates:
                    return None
                if attempt == self._max_attempts:
                    raise
                continue
            return record
        return None


@dataclass(frozen=True, slots=True)
class SignedHead:
    """A head the notary signed (the checkpoint itself stays in the checkpoint store)."""

    tenant: str
    seq: int
    hash: str


type ServiceOutcome = SignedHead | TamperReport | CheckpointError | None


class CheckpointService(Protocol):
    """Who signs for the ingest: the notary function (its own role holds kms:Sign)."""

    def checkpoint(self, tenants: Sequence[str]) -> list[ServiceOutcome]:
        """One outcome per tenant, in order; never raises for one tenant's failure."""
        ...


class LocalNotary:
    """Runs the notary in this process, several tenants at once (the notary function uses it)."""

    def __init__(self, notary: Notary, *, concurrency: int = 1) -> None:
        self._notary = notary
        self._concurrency = concurrency

    def checkpoint(self, tenants: Sequence[str]) -> list[ServiceOutcome]:
        def one(tenant: str) -> ServiceOutcome:
            try:
                outcome = self._notary.checkpoint(tenant)
            except CheckpointError as exc:
                return exc
            if isinstance(outcome, Checkpoint):
                return SignedHead(outcome.tenant, outcome.seq, outcome.hash)
            return outcome

        if self._concurrency == 1 or len(tenants) < 2:
            return [one(tenant) for tenant in tenants]
        # The first tenant runs here, so the KMS and S3 clients exist before other threads use them.
        results = [one(tenants[0])]
        with ThreadPoolExecutor(min(self._concurrency, len(tenants) - 1)) as pool:
            results += list(pool.map(one, tenants[1:]))
        return results


def outcomes_to_json(tenants: Sequence[str], outcomes: Sequence[ServiceOutcome]) -> dict[str, Any]:
    """The notary function's reply: what happened per tenant, seqs and problem kinds only."""
    reply: list[dict[str, Any]] = []
    for tenant, outcome in zip(tenants, outcomes, strict=True):
        if isinstance(outcome, SignedHead):
            reply.append({"tenant": tenant, "signed": {"seq": outcome.seq, "hash": outcome.hash}})
        elif isinstance(outcome, TamperReport):
            reply.append(
                {
                    "tenant": tenant,
                    "tampered": {
                        "problem": str(outcome.problem),
                        "first_bad_seq": outcome.first_bad_seq,
                        "checkpoint_seq": outcome.checkpoint_seq,
                        "detail": outcome.detail,
                    },
                }
            )
        elif isinstance(outcome, CheckpointError):
            reply.append({"tenant": tenant, "failed": str(outcome)})
        else:
            reply.append({"tenant": tenant})
    return {"outcomes": reply}


def outcomes_from_json(tenants: Sequence[str], reply: Any) -> list[ServiceOutcome]:
    """Read the notary's reply; anything missing or malformed is a CheckpointError for that tenant."""
    by_tenant: dict[Any, Any] = {}
    if isinstance(reply, dict) and isinstance(reply.get("outcomes"), list):
        by_tenant = {item.get("tenant"): item for item in reply["outcomes"] if isinstance(item, dict)}
    outcomes: list[ServiceOutcome] = []
    for tenant in tenants:
        item = by_tenant.get(tenant)
        try:
            if item is None:
                raise CheckpointError("the notary did not answer for this tenant")
            if "signed" in item:
                signed = item["signed"]
                outcomes.append(SignedHead(tenant, int(signed["seq"]), str(signed["hash"])))
            elif "tampered" in item:
                found = item["tampered"]
                outcomes.append(
                    TamperReport(
                        tenant=tenant,
                        problem=Problem(found["problem"]),
                        first_bad_seq=found["first_bad_seq"],
                        checkpoint_seq=found["checkpoint_seq"],
                        detail=str(found["detail"]),
                    )
                )
            elif "failed" in item:
                outcomes.append(CheckpointError(str(item["failed"])))
            else:
                outcomes.append(None)
        except CheckpointError as exc:
            outcomes.append(exc)
        except (KeyError, TypeError, ValueError):
            outcomes.append(CheckpointError("the notary's reply is malformed"))
    return outcomes
