"""Opaque pagination cursors: base64url(JSON) of the last key returned, bound to the query.

A cursor names its kind, tenant, order and a fingerprint of the filters; decoding checks all of
them, so a cursor cannot be replayed against another tenant, listing or filter set. Editing the
position only moves within the caller's own results.
"""

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

import rfc8785
from echo_shared.filters import RecordFilter
from echo_shared.logs import is_sort_key
from pydantic import BaseModel, ConfigDict, ValidationError

from audit_api.errors import InvalidCursor

MAX_CURSOR_LENGTH = 1024
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSION = 1

type CursorKind = Literal["audit", "logs"]


@dataclass(frozen=True, slots=True)
class CursorScope:
    kind: CursorKind
    tenant: str
    newest_first: bool
    filters: RecordFilter

    @property
    def fingerprint(self) -> str:
        material = {
            "type": self.filters.type,
            "actor": self.filters.actor,
            "resource": self.filters.resource,
            "since": self.filters.since_text,
            "until": self.filters.until_text,
            "newest_first": self.newest_first,
        }
        return hashlib.sha256(rfc8785.dumps(material)).hexdigest()[:32]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    v: int
    k: str
    t: str
    f: str
    p: int | str


def encode_cursor(scope: CursorScope, position: int | str) -> str:
    payload = _Payload(v=_VERSION, k=scope.kind, t=scope.tenant, f=scope.fingerprint, p=position)
    raw = rfc8785.dumps(payload.model_dump())
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_audit_cursor(token: str, scope: CursorScope) -> int:
    position = _decode(token, scope)
    if not isinstance(position, int) or position < 1:
        raise InvalidCursor("cursor does not hold a sequence number")
    return position


def decode_log_cursor(token: str, scope: CursorScope) -> str:
    position = _decode(token, scope)
    if not isinstance(position, str) or not is_sort_key(position):
        raise InvalidCursor("cursor does not hold a log key")
    return position


def _decode(token: str, scope: CursorScope) -> int | str:
    if not token or len(token) > MAX_CURSOR_LENGTH or not _ALPHABET.fullmatch(token):
        raise InvalidCursor("cursor is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = _Payload.model_validate(json.loads(raw))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValidationError):
        raise InvalidCursor("cursor is malformed") from None
    if payload.v != _VERSION or payload.k != scope.kind:
        raise InvalidCursor("cursor belongs to another listing")
    if payload.t != scope.tenant:
        raise InvalidCursor("cursor belongs to another tenant")
    if payload.f != scope.fingerprint:
        raise InvalidCursor("cursor was issued for different filters")
    return payload.p
