"""In-memory fakes of the retrieval ports that behave like the S3 adapter (ETags, sha256, keys)."""

from __future__ import annotations

import hashlib

from echo_retrieval.index import Manifest, SegmentEntry, SnapshotEntry, read_segment, segment_sha256


class InMemoryIndexStore:
    """An IndexStore in dicts: same keys, manifest and ETag semantics as S3IndexStore."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.gets = 0

    def _manifest_key(self, tenant: str) -> str:
        return f"index/{tenant}/manifest.json"

    def _manifest(self, tenant: str) -> Manifest:
        data = self.objects.get(self._manifest_key(tenant))
        return Manifest.from_json_bytes(data) if data is not None else Manifest()

    def put_segment(self, tenant: str, document_id: str, segment: bytes) -> None:
        key = f"index/{tenant}/segments/{document_id}.seg"
        self.objects[key] = segment
        entry = SegmentEntry(key, segment_sha256(segment), len(read_segment(segment).chunks))
        self.objects[self._manifest_key(tenant)] = (
            self._manifest(tenant).with_segment(document_id, entry).to_json_bytes()
        )

    def delete_segment(self, tenant: str, document_id: str) -> None:
        self.objects[self._manifest_key(tenant)] = self._manifest(tenant).without(document_id).to_json_bytes()
        self.objects.pop(f"index/{tenant}/segments/{document_id}.seg", None)

    def read_manifest(self, tenant: str, *, if_none_match: str | None = None) -> tuple[Manifest, str] | None:
        data = self.objects.get(self._manifest_key(tenant))
        etag = hashlib.md5(data).hexdigest() if data is not None else ""  # noqa: S324 - S3's ETag
        if if_none_match is not None and if_none_match == etag:
            return None
        return (Manifest.from_json_bytes(data) if data is not None else Manifest()), etag

    def get_segment(self, key: str) -> bytes:
        self.gets += 1
        return self.objects[key]  # KeyError (a LookupError) when absent, like IndexObjectMissing

    def put_snapshot(self, tenant: str, generation: int, snapshot: bytes) -> str:
        key = f"index/{tenant}/snapshots/{generation:010d}-{segment_sha256(snapshot)[:16]}.snap"
        self.objects[key] = snapshot
        return key

    def replace_snapshot(self, tenant: str, entry: SnapshotEntry, *, based_on: int) -> bool:
        manifest = self._manifest(tenant)
        if (manifest.snapshot.generation if manifest.snapshot else 0) != based_on:
            return False
        self.objects[self._manifest_key(tenant)] = manifest.with_snapshot(entry).to_json_bytes()
        return True

    def delete_snapshot(self, key: str) -> None:
        self.objects.pop(key, None)

    def snapshot_generations(self, tenant: str) -> dict[str, int]:
        prefix = f"index/{tenant}/snapshots/"
        return {k: int(k[len(prefix) :].split("-", 1)[0]) for k in self.objects if k.startswith(prefix)}

    def snapshot_keys(self, tenant: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(f"index/{tenant}/snapshots/"))
