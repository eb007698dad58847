"""S3 event notifications as SQS bodies: which objects were created."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from echo_shared.events import InvalidEvent


@dataclass(frozen=True, slots=True)
class CreatedObject:
    bucket: str
    key: str
    size: int


def created_objects(body: str) -> list[CreatedObject]:
    """The ObjectCreated records of one notification (S3's test event holds none)."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise InvalidEvent("body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidEvent("body is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        raise InvalidEvent("not an S3 event notification (no Records)")
    found = []
    for record in records:
        try:
            if not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            key = unquote_plus(str(s3["object"]["key"]))
            found.append(CreatedObject(str(s3["bucket"]["name"]), key, int(s3["object"].get("size", 0))))
        except (KeyError, TypeError, ValueError):
            raise InvalidEvent("S3 record lacks eventName, bucket, key or size") from None
    return found
