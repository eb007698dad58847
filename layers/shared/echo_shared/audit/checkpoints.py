"""Signed checkpoints of a tenant's chain head, their ports and the writer.

The signed message is the RFC 8785 canonical JSON of {"tenant", "seq", "hash"}; the stored object
is `checkpoints/<tenant>/<seq:012d>.json`.
"""

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import rfc8785

from echo_shared.audit.errors import AuditStoreThrottled, CheckpointError
from echo_shared.audit.repository import AuditChainWriter
from echo_shared.timeutil import Clock, coerce_utc, format_rfc3339, utc_now

SIGNING_ALGORITHM: Final = "ECDSA_SHA_256"
CHECKPOINT_PREFIX = "checkpoints"
_KEY_PATTERN = re.compile(r"^checkpoints/(?P<tenant>[^/]+)/(?P<seq>\d{12})\.json$")


class InvalidCheckpoint(ValueError):
    """A stored checkpoint object that cannot be read as a checkpoint."""


def checkpoint_message(tenant: str, seq: int, hash: str) -> bytes:
    return rfc8785.dumps({"tenant": tenant, "seq": seq, "hash": hash})


def checkpoint_prefix(tenant: str) -> str:
    return f"{CHECKPOINT_PREFIX}/{tenant}/"


def checkpoint_key(tenant: str, seq: int) -> str:
    return f"{checkpoint_prefix(tenant)}{seq:012d}.json"


def seq_from_key(key: str) -> int | None:
    match = _KEY_PATTERN.fullmatch(key)
    return None if match is None else int(match.group("seq"))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    tenant: str
    seq: int
    hash: str
    signed_at: datetime
    key_id: str
    signing_algorithm: str
    signature: bytes

    @property
    def message(self) -> bytes:
        return checkpoint_message(self.tenant, self.seq, self.hash)

    @property
    def key(self) -> str:
        return checkpoint_key(self.tenant, self.seq)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "tenant": self.tenant,
                "seq": self.seq,
                "hash": self.hash,
                "signed_at": format_rfc3339(self.signed_at),
                "key_id": self.key_id,
                "signing_algorithm": self.signing_algorithm,
                "signature": base64.b64encode(self.signature).decode(),
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> "Checkpoint":
        try:
            document: Any = json.loads(raw)
            return cls(
                tenant=_typed(document["tenant"], str),
                seq=_typed(document["seq"], int),
                hash=_typed(document["hash"], str),
                signed_at=coerce_utc(document["signed_at"]),
                key_id=_typed(document["key_id"], str),
                signing_algorithm=_typed(document["signing_algorithm"], str),
                signature=base64.b64decode(_typed(document["signature"], str), validate=True),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidCheckpoint(f"unreadable checkpoint ({type(exc).__name__})") from None


def _typed[T](value: object, kind: type[T]) -> T:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint object as found in the store: `checkpoint` is None if it could not be read."""

    key_seq: int
    checkpoint: Checkpoint | None


class CheckpointSigner(Protocol):
    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> tuple[str, bytes]:
        """Sign with the configured key; returns (key id as reported by the signer, signature)."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...


class CheckpointStore(Protocol):
    def put(self, checkpoint: Checkpoint) -> None: ...

    def list(self, tenant: str) -> list[StoredCheckpoint]:
        """Every checkpoint stored for the tenant, in ascending seq order."""
        ...

    def latest(self, tenant: str, *, at_or_below: int) -> StoredCheckpoint | None:
        """The checkpoint with the highest seq <= at_or_below, or None; reads few objects."""
        ...

    def first_at_or_above(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        """The checkpoint with the lowest seq >= seq, or None; reads at most one object."""
        ...

    def seqs_between(self, tenant: str, first: int, last: int) -> Sequence[int]:
        """The seqs of the checkpoints stored for first..last (keys only, no object read)."""
        ...

    def get(self, tenant: str, seq: int) -> StoredCheckpoint | None:
        """The checkpoint stored at `seq`, or None if there is none."""
        ...


def read_checkpoint(raw: bytes) -> Checkpoint | None:
    try:
        return Checkpoint.from_json(raw)
    except InvalidCheckpoint:
        return None


def write_checkpoint(
    tenant: str,
    *,
    chain: AuditChainWriter,
    signer: CheckpointSigner,
    store: CheckpointStore,
    clock: Clock = utc_now,
) -> Checkpoint | None:
    """Sign and store the tenant's current head; None if the chain is empty.

    Raises CheckpointError; the chain itself is never affected by a failed checkpoint.
    """
    try:
        head = chain.head(tenant)
    except AuditStoreThrottled as exc:
        raise CheckpointError("could not read the chain head") from exc
    if head is None:
        return None
    key_id, signature = signer.sign(checkpoint_message(tenant, head.seq, head.hash))
    checkpoint = Checkpoint(
        tenant=tenant,
        seq=head.seq,
        hash=head.hash,
        signed_at=clock(),
        key_id=key_id,
        signing_algorithm=SIGNING_ALGORITHM,
        signature=signature,
    )
    store.put(checkpoint)
    return checkpoint
