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


# A decision belongs to its decider: every function deciding in-process (echo_shared.authz) says
# its decisions on its own producer's topic, so none needs a publish right on another's topic.
DECISION_TYPES: frozenset[str] = frozenset({"authz.decision"})
# authz (its API), identity (the users function), audit (the audit API), documents (documents, query).
DECIDERS: frozenset[str] = frozenset({AUTHZ, IDENTITY, AUDIT, DOCUMENTS})


class UnknownProducer(ValueError):
    """An event type no producer owns, or a topic that is no producer's."""


def producer_of(event_type: str) -> str:
    """The producer whose namespace holds `event_type`."""
    for producer, prefixes in NAMESPACES.items():
        if event_type.startswith(prefixes):
            return producer
    raise UnknownProducer(f"no producer owns the type prefix of {event_type.split('.', 1)[0]!r}")


def may_say(producer: str, event_type: str) -> bool:
    """Whether `producer` may say `event_type`: a type of its own namespace, or a decision if it
    decides (the decision's type stays authz's: `producer_of` names the owner, not every sayer)."""
    return event_type.startswith(NAMESPACES.get(producer, ())) or (
        event_type in DECISION_TYPES and producer in DECIDERS
    )
