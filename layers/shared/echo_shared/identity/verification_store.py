"""What token verification reads from DynamoDB, on `echo_shared.aws_json` (no botocore, no PynamoDB).

The authorizer reads the published signing keys and asks whether a `jti` is revoked, nothing else;
botocore and PynamoDB cost most of its cold start (ADR 0015, ADR 0017). The items are the ones
`echo_shared.identity.dynamodb` writes (SIGNING_KEYS_TABLE by `kid`; `JTI#<jti>` in IDENTITY_TABLE).
Endpoint, region and credentials come from the environment, as botocore reads them
(AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL are honoured).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from echo_shared.aws_json import AwsCallFailed, AwsJsonClient
from echo_shared.identity.errors import IdentityStoreUnavailable
from echo_shared.identity.keys import KeyState, SigningKey

type AttributeValue = dict[str, Any]


class DynamoDBCalls(Protocol):
    """DynamoDB's JSON API: an operation's name and request in, its response out."""

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]: ...


def dynamodb_client() -> DynamoDBCalls:
    """The reads' client; a missing region or credentials is a store failure (fail closed)."""
    with _store_errors():
        return AwsJsonClient.dynamodb()


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except AwsCallFailed as exc:
        raise IdentityStoreUnavailable(f"identity store failed ({exc.code})") from exc


class SigningKeyReader:
    """Every signing key, as `SigningKeyRepository.list_keys` (a consistent scan of the key table)."""

    def __init__(self, table_name: str, client: DynamoDBCalls) -> None:
        self._table = table_name
        self._client = client

    def list_keys(self) -> list[SigningKey]:
        keys: list[SigningKey] = []
        request: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        with _store_errors():
            while True:
                page = self._client.call("Scan", request)
                keys.extend(_signing_key(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return keys
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class RevocationList:
    """`RevocationCheck` on the identity table: a `JTI#<jti>` item means revoked (as the grant store
    writes it; TTL deletion is lazy, and an expired token is refused on `exp` anyway)."""

    def __init__(self, table_name: str, client: DynamoDBCalls) -> None:
        self._table = table_name
        self._client = client

    def is_revoked(self, jti: str) -> bool:
        with _store_errors():
            found = self._client.call(
                "GetItem",
                {
                    "TableName": self._table,
                    "Key": {"pk": {"S": f"JTI#{jti}"}, "sk": {"S": "JTI"}},
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk",
                },
            )
        return "Item" in found


def _signing_key(item: dict[str, AttributeValue]) -> SigningKey:
    created_at = _number(item, "created_at")
    if created_at is None:
        raise IdentityStoreUnavailable("signing key item without created_at")
    return SigningKey(
        kid=item["kid"]["S"],
        key_ref=item["key_ref"]["S"],
        state=KeyState(item["state"]["S"]),
        public_jwk=json.loads(item["public_jwk"]["S"]),
        created_at=created_at,
        activated_at=_number(item, "activated_at"),
        retire_after=_number(item, "retire_after"),
        retired_at=_number(item, "retired_at"),
    )


def _number(item: dict[str, AttributeValue], name: str) -> int | None:
    """A number attribute as an int (decoded as PynamoDB's NumberAttribute does); absent or NULL is None."""
    value = item.get(name)
    if value is None or "N" not in value:
        return None
    return int(json.loads(value["N"]))
