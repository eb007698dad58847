"""What token verification reads from DynamoDB, on one low-level botocore client (no PynamoDB).

The authorizer reads the published signing keys and asks whether a `jti` is revoked, nothing else;
PynamoDB (and the botocore session it builds per model) cost a third of its cold start (ADR 0015). The items
are the ones `echo_shared.identity.dynamodb` writes (SIGNING_KEYS_TABLE by `kid`; `JTI#<jti>` in
IDENTITY_TABLE). Endpoint, region and credentials are botocore's (AWS_ENDPOINT_URL is honoured).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from echo_shared import aws
from echo_shared.identity.errors import IdentityStoreUnavailable
from echo_shared.identity.keys import KeyState, SigningKey

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The client PynamoDB built for these reads, with its defaults: a first try and three retries
# (standard mode), 15 s to connect, 30 s to read, no client-side parameter validation.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=15,
    read_timeout=30,
    parameter_validation=False,
)


def dynamodb_client() -> "DynamoDBClient":
    dynamodb: DynamoDBClient = aws.client("dynamodb", config=_CLIENT_CONFIG)
    return dynamodb


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        raise IdentityStoreUnavailable(f"identity store failed ({code})") from exc
    except BotoCoreError as exc:
        raise IdentityStoreUnavailable(f"identity store failed ({type(exc).__name__})") from exc


class SigningKeyReader:
    """Every signing key, as `SigningKeyRepository.list_keys` (a consistent scan of the key table)."""

    def __init__(self, table_name: str, client: "DynamoDBClient") -> None:
        self._table = table_name
        self._client = client

    def list_keys(self) -> list[SigningKey]:
        keys: list[SigningKey] = []
        request: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        with _store_errors():
            while True:
                page = self._client.scan(**request)
                keys.extend(_signing_key(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return keys
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class RevocationList:
    """`RevocationCheck` on the identity table: a `JTI#<jti>` item means revoked (as the grant store
    writes it; TTL deletion is lazy, and an expired token is refused on `exp` anyway)."""

    def __init__(self, table_name: str, client: "DynamoDBClient") -> None:
        self._table = table_name
        self._client = client

    def is_revoked(self, jti: str) -> bool:
        with _store_errors():
            found = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": f"JTI#{jti}"}, "sk": {"S": "JTI"}},
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        return "Item" in found


def _signing_key(item: dict[str, "AttributeValueTypeDef"]) -> SigningKey:
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


def _number(item: dict[str, "AttributeValueTypeDef"], name: str) -> int | None:
    """A number attribute as an int (decoded as PynamoDB's NumberAttribute does); absent or NULL is None."""
    value = item.get(name)
    if value is None or "N" not in value:
        return None
    return int(json.loads(value["N"]))
