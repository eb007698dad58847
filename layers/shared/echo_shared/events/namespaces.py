"""The producers and the event-type namespaces each owns (ADR 0016): the one table of who may say
what. Plain data, standard library only: the CDK app loads this file too (stacks/producers.py), so
the topics it builds and the checks the audit ingest makes cannot drift apart."""

from collections.abc import Mapping

IDENTITY = "identity"
AUTHZ = "authz"
DOCUMENTS = "documents"
AUDIT = "audit"
# Operators and the sandbox seed (`tenant.created`), and application logs (`log.*`); no Echo
# function speaks for it (its topic's policy denies every function role).
PLATFORM = "platform"

# Type prefixes (`noun.`) each producer owns; no prefix belongs to two producers.
NAMESPACES: Mapping[str, tuple[str, ...]] = {
    IDENTITY: ("user.", "token.", "consent.", "key.", "notification."),
    AUTHZ: ("authz.",),
    DOCUMENTS: ("document.", "query."),
    AUDIT: ("audit.",),
    PLATFORM: ("tenant.", "log."),
}


class UnknownProducer(ValueError):
    """An event type no producer owns, or a topic that is no producer's."""


def producer_of(event_type: str) -> str:
    """The producer whose namespace holds `event_type`."""
    for producer, prefixes in NAMESPACES.items():
        if event_type.startswith(prefixes):
            return producer
    raise UnknownProducer(f"no producer owns the type prefix of {event_type.split('.', 1)[0]!r}")
