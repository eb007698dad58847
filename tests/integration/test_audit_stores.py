"""The S3 checkpoint store finds the checkpoints around a seq without reading the whole prefix, and
the DynamoDB chain reads a seq range."""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from botocore.exceptions import ClientError
from echo_shared.audit import AuditAppender, ChainVerifier, Checkpoint, Notary, checkpoint_key
from echo_shared.audit.dynamodb import DynamoAuditChainRepository
from echo_shared.audit.kms import KmsCheckpointSigner
from echo_shared.audit.s3 import CheckpointRetention, S3CheckpointStore
from echo_shared.events import EventEnvelope

from tests.integration.conftest import AwsResources

SEQS = (1, 2, 70, 71, 500, 3000)


class CountingS3:
    """Wraps the boto3 client and counts GetObject calls."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.gets = 0

    def get_object(self, **kwargs: Any) -> Any:
        self.gets += 1
        return self._inner.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def store(aws: AwsResources) -> tuple[S3CheckpointStore, CountingS3]:
    client = CountingS3(aws.s3)
    store = S3CheckpointStore(aws.table("CHECKPOINT_BUCKET"), client=client)  # type: ignore[arg-type]
    for seq in SEQS:
        for tenant in ("acme", "acme2"):
            store.put(
                Checkpoint(
                    tenant, seq, "a" * 64, datetime(2026, 1, 5, tzinfo=UTC), "key", "ECDSA_SHA_256", b"s"
                )
            )
    aws.s3.put_object(Bucket=aws.table("CHECKPOINT_BUCKET"), Key="checkpoints/acme/notes.txt", Body=b"x")
    return store, client


@pytest.mark.parametrize(
    ("at_or_below", "expected"),
    [(0, None), (1, 1), (69, 2), (70, 70), (499, 71), (2999, 500), (10**9, 3000)],
)
def test_latest_at_or_below(
    store: tuple[S3CheckpointStore, CountingS3], at_or_below: int, expected: int | None
) -> None:
    s3_store, client = store
    found = s3_store.latest("acme", at_or_below=at_or_below)
    assert (None if found is None else found.key_seq) == expected
    assert client.gets == (0 if expected is None else 1)
    if found is not None:
        assert found.checkpoint is not None
        assert found.checkpoint.tenant == "acme"


@pytest.mark.parametrize(("seq", "expected"), [(1, 1), (3, 70), (72, 500), (3000, 3000), (3001, None)])
def test_first_at_or_above(
    store: tuple[S3CheckpointStore, CountingS3], seq: int, expected: int | None
) -> None:
    s3_store, client = store
    found = s3_store.first_at_or_above("acme", seq)
    assert (None if found is None else found.key_seq) == expected
    assert client.gets == (0 if expected is None else 1)


def test_list_still_returns_every_checkpoint(store: tuple[S3CheckpointStore, CountingS3]) -> None:
    s3_store, _ = store
    assert [entry.key_seq for entry in s3_store.list("acme")] == list(SEQS)
    assert checkpoint_key("acme", 1) == "checkpoints/acme/000000000001.json"


def test_records_between_reads_a_range_across_pages(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    repo = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    AuditAppender(repo).append_batch([make_event() for _ in range(620)])
    assert [r.seq for r in repo.records_between("acme", 10, 15)] == list(range(10, 16))
    assert [r.seq for r in repo.records_between("acme", 600, None)] == list(range(600, 621))
    assert len(list(repo.records_between("acme", 1, 620))) == 620


def _signed(tenant: str, seq: int, signature: bytes = b"s") -> Checkpoint:
    return Checkpoint(tenant, seq, "a" * 64, datetime.now(UTC), "key", "ECDSA_SHA_256", signature)


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_a_checkpoint_is_written_once_under_object_lock_and_cannot_be_deleted_in_its_retention(
    aws: AwsResources, mode: Literal["GOVERNANCE", "COMPLIANCE"]
) -> None:
    # Given the notary's store writing under the stage's retention
    bucket = aws.table("CHECKPOINT_BUCKET")
    store = S3CheckpointStore(bucket, client=aws.s3, retention=CheckpointRetention(mode, 30))
    original = _signed("acme", 7)
    store.put(original)
    key = checkpoint_key("acme", 7)
    # Then the object carries its lock: the mode and signed_at + 30 days
    head = aws.s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == mode
    assert head["ObjectLockRetainUntilDate"] - original.signed_at > timedelta(days=29, hours=23)
    # When a second checkpoint is written at the same seq (If-None-Match: the key exists)
    store.put(_signed("acme", 7, signature=b"forged"))
    # Then the first one is still the only version
    versions = aws.s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 1
    found = store.get("acme", 7)
    assert found is not None
    assert found.checkpoint == original
    # And the locked version cannot be deleted (moto does not model shortening a retention)
    version_id = versions[0]["VersionId"]
    with pytest.raises(ClientError) as refused:
        aws.s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # And a delete marker hides nothing for good: the signed version is still there to restore
    aws.s3.delete_object(Bucket=bucket, Key=key)
    assert store.get("acme", 7) is None
    kept = aws.s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"].read()
    assert kept == original.to_json()


def test_only_governance_retention_can_be_bypassed_and_only_on_request(aws: AwsResources) -> None:
    # Given checkpoints locked in each mode (the local stage uses GOVERNANCE so it stays disposable)
    bucket = aws.table("CHECKPOINT_BUCKET")
    for mode, tenant in (("GOVERNANCE", "local"), ("COMPLIANCE", "prod")):
        S3CheckpointStore(bucket, client=aws.s3, retention=CheckpointRetention(mode, 1)).put(
            _signed(tenant, 1)
        )  # type: ignore[arg-type]
    version = {
        tenant: aws.s3.list_object_versions(Bucket=bucket, Prefix=checkpoint_key(tenant, 1))["Versions"][0][
            "VersionId"
        ]
        for tenant in ("local", "prod")
    }
    # When a privileged operator deletes with the governance bypass
    aws.s3.delete_object(
        Bucket=bucket,
        Key=checkpoint_key("local", 1),
        VersionId=version["local"],
        BypassGovernanceRetention=True,
    )
    # Then the GOVERNANCE version is gone, the COMPLIANCE one refuses even the bypass
    with pytest.raises(ClientError):
        aws.s3.delete_object(
            Bucket=bucket,
            Key=checkpoint_key("prod", 1),
            VersionId=version["prod"],
            BypassGovernanceRetention=True,
        )
    assert (
        aws.s3.list_object_versions(Bucket=bucket, Prefix=checkpoint_key("local", 1)).get("Versions") is None
    )


@pytest.mark.parametrize("forgery", ["bad_signature", "unknown_key"])
def test_a_version_written_over_a_locked_checkpoint_is_still_refused_by_the_verifier(
    aws: AwsResources, make_event: Callable[..., EventEnvelope], forgery: str
) -> None:
    # Given a chain of 3 records whose head the notary signed into a locked checkpoint
    chain = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    for n in range(3):
        AuditAppender(chain).append(make_event(actor=f"user-{n}"))
    signer = KmsCheckpointSigner(aws.key_arn, client=aws.kms)
    bucket = aws.table("CHECKPOINT_BUCKET")
    store = S3CheckpointStore(bucket, client=aws.s3, retention=CheckpointRetention("COMPLIANCE", 1))
    signed = Notary(chain, signer, store).checkpoint("acme")
    assert isinstance(signed, Checkpoint)
    assert ChainVerifier(chain, store, signer).verify("acme").ok
    # When someone without the notary's key puts a new version on top of the key (the bucket
    # policy refuses this on AWS; moto does not evaluate bucket policies)
    forged = replace(signed, signature=b"\x30\x06\x02\x01\x01\x02\x01\x01")
    if forgery == "unknown_key":
        forged = replace(signed, key_id="arn:aws:kms:eu-west-1:123456789012:key/attacker")
    aws.s3.put_object(Bucket=bucket, Key=signed.key, Body=forged.to_json())
    # Then the verifier refuses it, at its seq
    result = ChainVerifier(chain, store, signer).verify("acme")
    assert (result.ok, result.problem, result.first_bad_seq) == (False, forgery, 3)
    # And the notary's version is still there, locked, to restore
    versions = aws.s3.list_object_versions(Bucket=bucket, Prefix=signed.key)["Versions"]
    assert len(versions) == 2
    oldest = next(v for v in versions if not v["IsLatest"])
    restored = aws.s3.get_object(Bucket=bucket, Key=signed.key, VersionId=oldest["VersionId"])
    assert restored["ObjectLockMode"] == "COMPLIANCE"
    assert restored["Body"].read() == signed.to_json()


class CountingKms:
    """Wraps the boto3 KMS client and counts the calls per operation."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._inner, name)

        def counted(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return operation(**kwargs)

        return counted


def test_a_walk_over_many_checkpoints_fetches_the_public_key_once_and_never_calls_verify(
    aws: AwsResources, make_event: Callable[..., EventEnvelope]
) -> None:
    # Given a chain of 6 records with a KMS-signed checkpoint after each
    chain = DynamoAuditChainRepository(aws.table("AUDIT_CHAIN_TABLE"), aws.table("AUDIT_EVENT_IDS_TABLE"))
    store = S3CheckpointStore(aws.table("CHECKPOINT_BUCKET"), client=aws.s3)
    notary = Notary(chain, KmsCheckpointSigner(aws.key_arn, client=aws.kms), store)
    for n in range(6):
        AuditAppender(chain).append(make_event(actor=f"user-{n}"))
        assert isinstance(notary.checkpoint("acme"), Checkpoint)
    # When a reader with its own signer walks the whole chain twice
    kms = CountingKms(aws.kms)
    verifier = ChainVerifier(chain, store, KmsCheckpointSigner(aws.key_arn, client=kms))  # type: ignore[arg-type]
    first, second = verifier.verify("acme"), verifier.verify("acme")
    # Then all 6 checkpoints verified, with one GetPublicKey and no KMS Verify call
    assert (first.ok, first.checked, second.ok) == (True, 6, True)
    assert kms.calls == {"get_public_key": 1}
