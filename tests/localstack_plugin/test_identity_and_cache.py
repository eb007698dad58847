"""Identity sources of authorizers, and the result cache's TTL."""

from __future__ import annotations

import pytest
from echo_localstack.apigateway.cache import TtlCache
from echo_localstack.apigateway.identity import (
    MissingIdentityError,
    RequestView,
    identity_values,
    parse_identity_source,
)

REQUEST = RequestView(
    headers={"Authorization": "Bearer t", "X-Tenant": "acme"},
    query={"token": "q"},
    stage_variables={"env": "dev"},
    context={"identity": {"sourceIp": "127.0.0.1"}, "stage": "dev"},
)


def test_identity_sources_are_comma_separated() -> None:
    assert parse_identity_source(" method.request.header.A ,method.request.querystring.b") == [
        "method.request.header.A",
        "method.request.querystring.b",
    ]
    assert parse_identity_source(None) == []


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("method.request.header.Authorization", "Bearer t"),
        ("method.request.header.authorization", "Bearer t"),
        ("method.request.querystring.token", "q"),
        ("stageVariables.env", "dev"),
        ("context.identity.sourceIp", "127.0.0.1"),
        ("context.stage", "dev"),
    ],
)
def test_each_kind_of_identity_source_is_resolved(source: str, value: str) -> None:
    assert identity_values(source, REQUEST) == (value,)


def test_several_sources_give_one_value_each() -> None:
    values = identity_values("method.request.header.X-Tenant, method.request.querystring.token", REQUEST)

    assert values == ("acme", "q")


@pytest.mark.parametrize(
    "source",
    [
        "method.request.header.Missing",
        "method.request.querystring.none",
        "stageVariables.nope",
        "method.request.header.Authorization,method.request.header.Missing",
    ],
)
def test_a_missing_source_is_reported(source: str) -> None:
    with pytest.raises(MissingIdentityError):
        identity_values(source, REQUEST)


def test_an_empty_header_counts_as_missing() -> None:
    with pytest.raises(MissingIdentityError):
        identity_values("method.request.header.Authorization", RequestView(headers={"Authorization": ""}))


def test_unknown_selectors_are_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported identity source"):
        identity_values("method.request.path.id", REQUEST)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entries_live_for_their_ttl() -> None:
    clock = FakeClock()
    cache: TtlCache[str] = TtlCache(clock=clock)

    cache.put("k", "v", ttl_seconds=300)
    clock.now += 299
    assert cache.get("k") == "v"
    clock.now += 1
    assert cache.get("k") is None


def test_a_zero_ttl_disables_caching() -> None:
    cache: TtlCache[str] = TtlCache()

    cache.put("k", "v", ttl_seconds=0)

    assert cache.get("k") is None


def test_the_oldest_entries_are_evicted_first() -> None:
    cache: TtlCache[int] = TtlCache(max_entries=2)

    for key in range(3):
        cache.put(key, key, ttl_seconds=60)

    assert [cache.get(key) for key in range(3)] == [None, 1, 2]
