"""Where a document's bytes live in the documents bucket (see docs/documents.md).

originals:    tenants/{tenant}/users/{owner}/{document_id}/{safe_filename}
plain drops:  tenants/{tenant}/users/{owner}/drop/{any name}   (document id derived from the key)
parsed text:  parsed/{tenant}/{document_id}.json
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from echo_shared.events import is_valid_tenant

ORIGINALS_PREFIX = "tenants/"
PARSED_PREFIX = "parsed/"
DROP_FOLDER = "drop"
MAX_FILENAME_LENGTH = 255
MAX_KEY_LENGTH = 1024
# A user id that is safe as one key segment (identity issues UUIDs; anything else is refused).
OWNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$"
DOCUMENT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

_OWNER = re.compile(OWNER_PATTERN)
_DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Drops get a stable id per key, so a redelivered notification finds the same record.
_DROP_NAMESPACE = uuid.UUID("6f0c8a52-7d0f-4b4e-9d3b-3f2b8f1f6a11")


class InvalidObjectKey(ValueError):
    """The key is not under a tenant's prefix in the documented layout."""


@dataclass(frozen=True, slots=True)
class ObjectLocation:
    tenant: str
    owner: str
    document_id: str
    filename: str
    dropped: bool


def is_valid_owner(owner: str) -> bool:
    return _OWNER.fullmatch(owner) is not None


def is_valid_document_id(document_id: str) -> bool:
    return _DOCUMENT_ID.fullmatch(document_id) is not None


def new_document_id() -> str:
    return str(uuid.uuid4())


def safe_filename(filename: str) -> str:
    """The filename as one ASCII key segment: accents folded, anything else replaced by `_`."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("_", folded).strip("._") or "document"
    return safe[:120]


def original_key(tenant: str, owner: str, document_id: str, filename: str) -> str:
    return f"{ORIGINALS_PREFIX}{tenant}/users/{owner}/{document_id}/{safe_filename(filename)}"


def parsed_key(tenant: str, document_id: str) -> str:
    return f"{PARSED_PREFIX}{tenant}/{document_id}.json"


def drop_document_id(key: str) -> str:
    return str(uuid.uuid5(_DROP_NAMESPACE, key))


def locate(key: str) -> ObjectLocation:
    """Who and what an uploaded object is, from its key alone; raises InvalidObjectKey."""
    if len(key) > MAX_KEY_LENGTH or not key.startswith(ORIGINALS_PREFIX):
        raise InvalidObjectKey("not under tenants/")
    parts = key[len(ORIGINALS_PREFIX) :].split("/")
    if len(parts) < 5 or parts[1] != "users":
        raise InvalidObjectKey("expected tenants/{tenant}/users/{owner}/{document_id|drop}/{name}")
    tenant, _, owner, folder = parts[:4]
    name = "/".join(parts[4:])
    if not is_valid_tenant(tenant) or not is_valid_owner(owner):
        raise InvalidObjectKey("invalid tenant or owner segment")
    if not name or len(name) > MAX_FILENAME_LENGTH or name.endswith("/"):
        raise InvalidObjectKey("invalid object name")
    if folder == DROP_FOLDER:
        return ObjectLocation(tenant, owner, drop_document_id(key), name.rsplit("/", 1)[-1], dropped=True)
    if not is_valid_document_id(folder) or "/" in name:
        raise InvalidObjectKey("invalid document id segment")
    return ObjectLocation(tenant, owner, folder, name, dropped=False)
