"""DynamoDB adapters: the policy store (AUTHZ_POLICY_TABLE) and the documents metadata reader.

Policy table, one partition per tenant (`tenant`, `item`):
  `version#0000000003`     an immutable policy version (text, digest, golden decisions, who/when)
  `active`                 the active pointer (version, revision), moved only by a conditional put
  `activation#0000000007`  one record per pointer move, written in the same transaction
Writes are Put/ConditionCheck only: nothing is ever updated in place or deleted.

Documents metadata table (`tenant`, `document_id`), owned by the document service; read only.
"""

import json
from collections.abc import Iterator, Sequence
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from echo_shared.authz.errors import (
    ConcurrentPolicyChange,
    EntityStoreUnavailable,
    PolicyStoreUnavailable,
    PolicyVersionNotFound,
)
from echo_shared.authz.golden import GoldenDecision
from echo_shared.authz.model import Classification, DocumentMetadata, EntityRef, Principal
from echo_shared.authz.store import (
    Activation,
    ActivationKind,
    ActivePointer,
    NewPolicyVersion,
    PolicyVersion,
    Report,
)
from echo_shared.dynamodb import CANCELLED_CONDITION, bind_table, cancellation_codes, outbox_for
from echo_shared.events import EventEnvelope
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.timeutil import format_rfc3339, parse_rfc3339

VERSION_PREFIX = "version#"
ACTIVATION_PREFIX = "activation#"
POINTER_KEY = "active"
_CREATE_ATTEMPTS = 3
_PAGE_SIZE = 100
_CLASSIFICATIONS = frozenset(c.value for c in Classification)


def version_key(number: int) -> str:
    return f"{VERSION_PREFIX}{number:010d}"


def activation_key(revision: int) -> str:
    return f"{ACTIVATION_PREFIX}{revision:010d}"


class PolicyVersionItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    number = NumberAttribute()
    policies = UnicodeAttribute(null=True)
    digest = UnicodeAttribute()
    golden = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()


class ActivePointerItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    revision = NumberAttribute()
    changed_at = UnicodeAttribute()
    changed_by = UnicodeAttribute()


class ActivationItem(Model):
    tenant = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    revision = NumberAttribute()
    version = NumberAttribute()
    previous_version = NumberAttribute()
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    by = UnicodeAttribute()


class DynamoPolicyStore:
    """Changes commit with their events in the outbox (ADR 0014) when the store has one."""

    def __init__(self, table_name: str, *, outbox: DynamoOutbox | None = None) -> None:
        self._versions = bind_table(PolicyVersionItem, table_name)
        self._pointers = bind_table(ActivePointerItem, table_name)
        self._log = bind_table(ActivationItem, table_name)
        self._connection = Connection()
        self._outbox = outbox

    def _add_events(self, transaction: TransactWrite, events: Sequence[EventEnvelope]) -> None:
        outbox = outbox_for(self._outbox, events)
        if outbox is not None:
            outbox.add_to(transaction, events)

    def active(self, tenant: str) -> ActivePointer | None:
        try:
            item = self._pointers.get(tenant, POINTER_KEY, consistent_read=True)
        except self._pointers.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise PolicyStoreUnavailable("active policy pointer cannot be read") from exc
        return ActivePointer(
            tenant=tenant,
            version=int(item.version),
            revision=int(item.revision),
            changed_at=parse_rfc3339(item.changed_at),
            changed_by=item.changed_by,
        )

    def get(self, tenant: str, number: int) -> PolicyVersion | None:
        try:
            item = self._versions.get(tenant, version_key(number), consistent_read=True)
        except self._versions.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise PolicyStoreUnavailable("policy version cannot be read") from exc
        return _to_version(item)

    def versions(self, tenant: str) -> list[PolicyVersion]:
        try:
            query = self._versions.query(
                tenant,
                self._versions.item.startswith(VERSION_PREFIX),
                scan_index_forward=False,
                consistent_read=True,
                page_size=_PAGE_SIZE,
            )
            return [_to_version(item) for item in query]
        except PynamoDBException as exc:
            raise PolicyStoreUnavailable("policy versions cannot be read") from exc

    def create(
        self, version: NewPolicyVersion, *, reported_by: Report[PolicyVersion] | None = None
    ) -> PolicyVersion:
        for _ in range(_CREATE_ATTEMPTS):
            number = self._latest_number(version.tenant) + 1
            item = self._versions(
                version.tenant,
                version_key(number),
                number=number,
                policies=version.policies or None,
                digest=version.digest,
                golden=json.dumps([case.model_dump(mode="json") for case in version.golden]),
                description=version.description or None,
                created_at=format_rfc3339(version.created_at),
                created_by=version.created_by,
            )
            stored = _to_version(item)
            events = () if reported_by is None else reported_by(stored)
            try:
                if not events:
                    item.save(condition=self._versions.item.does_not_exist())
                else:
                    with TransactWrite(connection=self._connection) as transaction:
                        # The version's put comes first: reason 0 says whether its number was taken.
                        transaction.save(item, condition=self._versions.item.does_not_exist())
                        self._add_events(transaction, events)
            except PutError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    continue
                raise PolicyStoreUnavailable("policy version cannot be stored") from exc
            except TransactWriteError as exc:
                reasons = cancellation_codes(exc)
                if reasons[:1] == [CANCELLED_CONDITION]:
                    continue
                raise PolicyStoreUnavailable("policy version cannot be stored") from exc
            return stored
        raise ConcurrentPolicyChange("other versions are being created concurrently; retry")

    def activate(
        self,
        tenant: str,
        number: int,
        *,
        expected_revision: int,
        kind: ActivationKind,
        at: datetime,
        by: str,
        reported_by: Report[Activation] | None = None,
    ) -> Activation:
        pointer = self.active(tenant)
        if (pointer.revision if pointer else 0) != expected_revision:
            raise ConcurrentPolicyChange("the tenant's active policy version changed meanwhile")
        previous = pointer.version if pointer else 0
        revision = expected_revision + 1
        when = format_rfc3339(at)
        activation = Activation(tenant, revision, number, previous, kind, at, by)
        events = () if reported_by is None else reported_by(activation)
        condition = (
            self._pointers.item.does_not_exist()
            if expected_revision == 0
            else self._pointers.revision == expected_revision
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                # PynamoDB sends condition checks first, then puts: cancellation reasons come back
                # as [version check (unless v0), pointer, log].
                transaction.save(
                    self._pointers(
                        tenant, POINTER_KEY, version=number, revision=revision, changed_at=when, changed_by=by
                    ),
                    condition=condition,
                )
                transaction.save(
                    self._log(
                        tenant,
                        activation_key(revision),
                        revision=revision,
                        version=number,
                        previous_version=previous,
                        kind=kind.value,
                        at=when,
                        by=by,
                    ),
                    condition=self._log.item.does_not_exist(),
                )
                if number != 0:
                    transaction.condition_check(
                        self._versions, tenant, version_key(number), condition=self._versions.item.exists()
                    )
                self._add_events(transaction, events)
        except TransactWriteError as exc:
            raise _classify(exc, number, checks_version=number != 0) from exc
        return activation

    def history(self, tenant: str) -> list[Activation]:
        try:
            query = self._log.query(
                tenant,
                self._log.item.startswith(ACTIVATION_PREFIX),
                scan_index_forward=False,
                consistent_read=True,
                page_size=_PAGE_SIZE,
            )
            return [
                Activation(
                    tenant=tenant,
                    revision=int(item.revision),
                    version=int(item.version),
                    previous_version=int(item.previous_version),
                    kind=ActivationKind(item.kind),
                    at=parse_rfc3339(item.at),
                    by=item.by,
                )
                for item in query
            ]
        except PynamoDBException as exc:
            raise PolicyStoreUnavailable("activation history cannot be read") from exc

    def _latest_number(self, tenant: str) -> int:
        try:
            query = self._versions.query(
                tenant,
                self._versions.item.startswith(VERSION_PREFIX),
                scan_index_forward=False,
                consistent_read=True,
                limit=1,
                attributes_to_get=["number"],
            )
            return max((int(item.number) for item in query), default=0)
        except PynamoDBException as exc:
            raise PolicyStoreUnavailable("policy versions cannot be read") from exc


def _classify(exc: TransactWriteError, number: int, *, checks_version: bool) -> Exception:
    if exc.cause_response_code == "TransactionCanceledException":
        reasons = cancellation_codes(exc)
        if checks_version and reasons[:1] == [CANCELLED_CONDITION]:
            return PolicyVersionNotFound(f"policy version v{number} does not exist")
        if CANCELLED_CONDITION in reasons or "TransactionConflict" in reasons:
            return ConcurrentPolicyChange("the tenant's active policy version changed meanwhile")
    return PolicyStoreUnavailable("the active policy version cannot be changed right now")


def _to_version(item: PolicyVersionItem) -> PolicyVersion:
    return PolicyVersion(
        tenant=item.tenant,
        number=int(item.number),
        policies=item.policies or "",
        digest=item.digest,
        golden=tuple(GoldenDecision.model_validate(case) for case in json.loads(item.golden)),
        description=item.description or "",
        created_at=parse_rfc3339(item.created_at),
        created_by=item.created_by,
    )


class DocumentMetadataItem(Model):
    """The attributes policies read; the document service's records may hold more."""

    tenant = UnicodeAttribute(hash_key=True)
    document_id = UnicodeAttribute(range_key=True)
    owner = UnicodeAttribute(null=True)
    shared_with_users = UnicodeSetAttribute(null=True)
    shared_with_roles = UnicodeSetAttribute(null=True)
    classification = UnicodeAttribute(null=True)


class DynamoEntityProvider:
    """Documents from the documents metadata table. Principals the caller did not describe are
    unknown here until the identity service exposes a user directory (the decision then denies)."""

    def __init__(self, documents_table: str) -> None:
        self._documents = bind_table(DocumentMetadataItem, documents_table)

    def principal(self, tenant: str, ref: EntityRef) -> Principal | None:
        return None

    def document(self, tenant: str, document_id: str) -> DocumentMetadata | None:
        try:
            item = self._documents.get(tenant, document_id)
        except self._documents.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise EntityStoreUnavailable("documents metadata cannot be read") from exc
        return to_document(item)

    def documents(self, tenant: str) -> Iterator[DocumentMetadata]:
        try:
            for item in self._documents.query(tenant, page_size=_PAGE_SIZE):
                document = to_document(item)
                if document is not None:
                    yield document
        except PynamoDBException as exc:
            raise EntityStoreUnavailable("documents metadata cannot be read") from exc


def to_document(item: DocumentMetadataItem) -> DocumentMetadata | None:
    """A record policies cannot judge (no owner, unknown classification) counts as absent: deny."""
    if not item.owner or item.classification not in _CLASSIFICATIONS:
        return None
    return DocumentMetadata(
        tenant=item.tenant,
        document_id=item.document_id,
        owner=item.owner,
        shared_with_users=frozenset(item.shared_with_users or ()),
        shared_with_roles=frozenset(item.shared_with_roles or ()),
        classification=Classification(item.classification),
    )
