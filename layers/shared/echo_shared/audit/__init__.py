"""The tamper-evident audit chain: hashing, the repository port and adapters, appending,
signed checkpoints and verification."""

from echo_shared.audit.appender import AppendOutcome, AppendResult, AppendStatus, AuditAppender, RetryPolicy
from echo_shared.audit.checkpoints import (
    SIGNING_ALGORITHM,
    Checkpoint,
    CheckpointSigner,
    CheckpointStore,
    StoredCheckpoint,
    checkpoint_key,
    checkpoint_message,
    write_checkpoint,
)
from echo_shared.audit.errors import (
    AuditError,
    AuditStoreThrottled,
    AuditStoreUnavailable,
    ChainConflict,
    ChainContention,
    CheckpointError,
    RetryableAuditError,
)
from echo_shared.audit.hashing import FIRST_SEQ, GENESIS_HASH, canonical_record, record_hash
from echo_shared.audit.notary import (
    INTEGRITY_CHAIN,
    TAMPER_DETECTED,
    IntegrityLog,
    Notary,
    NotaryOutcome,
    TamperReport,
)
from echo_shared.audit.records import AuditRecord, ChainHead
from echo_shared.audit.repository import (
    MAX_RECORDS_PER_COMMIT,
    AuditChainReader,
    AuditChainRepository,
    AuditChainWriter,
)
from echo_shared.audit.verifier import (
    MAX_RANGE_RECORDS,
    ChainVerifier,
    Freshness,
    Problem,
    SegmentVerdict,
    VerificationResult,
)

__all__ = [
    "FIRST_SEQ",
    "GENESIS_HASH",
    "INTEGRITY_CHAIN",
    "MAX_RANGE_RECORDS",
    "MAX_RECORDS_PER_COMMIT",
    "SIGNING_ALGORITHM",
    "TAMPER_DETECTED",
    "AppendOutcome",
    "AppendResult",
    "AppendStatus",
    "AuditAppender",
    "AuditChainReader",
    "AuditChainRepository",
    "AuditChainWriter",
    "AuditError",
    "AuditRecord",
    "AuditStoreThrottled",
    "AuditStoreUnavailable",
    "ChainConflict",
    "ChainContention",
    "ChainHead",
    "ChainVerifier",
    "Checkpoint",
    "CheckpointError",
    "CheckpointSigner",
    "CheckpointStore",
    "Freshness",
    "IntegrityLog",
    "Notary",
    "NotaryOutcome",
    "Problem",
    "RetryPolicy",
    "RetryableAuditError",
    "SegmentVerdict",
    "StoredCheckpoint",
    "TamperReport",
    "VerificationResult",
    "canonical_record",
    "checkpoint_key",
    "checkpoint_message",
    "record_hash",
    "write_checkpoint",
]
