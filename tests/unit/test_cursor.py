import base64
import json
from datetime import UTC, datetime

import pytest
from audit_api.cursor import (
    MAX_CURSOR_LENGTH,
    CursorScope,
    decode_audit_cursor,
    decode_log_cursor,
    encode_cursor,
)
from audit_api.errors import InvalidCursor
from echo_shared.filters import RecordFilter

SCOPE = CursorScope("audit", "acme", True, RecordFilter(type="user.logged_in"))
LOG_KEY = "2026-01-05T10:00:00.000000Z#3f1c0a52-7d0e-4f57-9a0b-2d9b1f3b6c11"


def _payload(token: str) -> dict[str, object]:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(payload: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_round_trip() -> None:
    token = encode_cursor(SCOPE, 42)
    assert decode_audit_cursor(token, SCOPE) == 42
    log_scope = CursorScope("logs", "acme", False, RecordFilter(since=datetime(2026, 1, 1, tzinfo=UTC)))
    assert decode_log_cursor(encode_cursor(log_scope, LOG_KEY), log_scope) == LOG_KEY


def test_cursor_is_url_safe_and_unpadded() -> None:
    token = encode_cursor(SCOPE, 10**9)
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (CursorScope("audit", "globex", True, RecordFilter(type="user.logged_in")), "another tenant"),
        (CursorScope("audit", "acme", True, RecordFilter(type="token.issued")), "different filters"),
        (CursorScope("audit", "acme", False, RecordFilter(type="user.logged_in")), "different filters"),
        (CursorScope("logs", "acme", True, RecordFilter(type="user.logged_in")), "another listing"),
    ],
)
def test_cursor_is_bound_to_its_query(scope: CursorScope, message: str) -> None:
    # Given a cursor issued for one tenant/listing/filter set
    token = encode_cursor(SCOPE, 42)

    # When / Then it is refused anywhere else
    with pytest.raises(InvalidCursor, match=message):
        (decode_log_cursor if scope.kind == "logs" else decode_audit_cursor)(token, scope)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "a" * (MAX_CURSOR_LENGTH + 1),
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
        _token({"v": 1}),
        _token({"v": 1, "k": "audit", "t": "acme", "f": "x", "p": 1, "extra": True}),
        _token({"v": 1, "k": "audit", "t": "acme", "f": "x", "p": 1.5}),
        "W10",
    ],
)
def test_malformed_cursors_are_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_audit_cursor(token, SCOPE)


@pytest.mark.parametrize("position", [0, -5, "12"])
def test_edited_audit_position_must_still_be_a_sequence_number(position: object) -> None:
    # Given a genuine cursor whose position was edited to something that is not a seq
    payload = _payload(encode_cursor(SCOPE, 42)) | {"p": position}

    with pytest.raises(InvalidCursor):
        decode_audit_cursor(_token(payload), SCOPE)


@pytest.mark.parametrize("position", [7, "2026-01-05#x", LOG_KEY + "#extra", "../etc"])
def test_edited_log_position_must_still_be_a_log_key(position: object) -> None:
    scope = CursorScope("logs", "acme", True, RecordFilter())
    payload = _payload(encode_cursor(scope, LOG_KEY)) | {"p": position}
    with pytest.raises(InvalidCursor):
        decode_log_cursor(_token(payload), scope)


def test_other_version_is_refused() -> None:
    payload = _payload(encode_cursor(SCOPE, 3)) | {"v": 2}
    with pytest.raises(InvalidCursor, match="another listing"):
        decode_audit_cursor(_token(payload), SCOPE)
