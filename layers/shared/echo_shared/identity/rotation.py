"""Signing-key rotation: a small state machine run on a schedule, plus the incident path.

Scheduled (`run_scheduled`, hourly):
1. no key at all -> create one as `current` (bootstrap: nothing was signed, nothing is cached);
2. `publish_ahead` before the current key is due -> create `next` (in JWKS, not signing);
3. once due and `next` has been published for `publish_ahead` -> `next`->`current`,
   `current`->`previous` with `retire_after` = now + the longest JWT lifetime;
4. `previous` past `retire_after` -> KMS deletion scheduled, then `retired` (out of JWKS).
Incident (`rotate_now`): `next` (or a fresh key) becomes `current` at once; our verifiers refresh
their JWKS on an unknown kid. With `compromised=True` the old key is retired immediately, so every
token it signed stops verifying.

Each step is one transaction of the key store, and `announce` turns the step's report into the
events that commit with it (ADR 0014: `key.rotated` in the identity outbox), so a rotation is never
without its event and an event never without its rotation.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from echo_shared.identity.keys import (
    KeyState,
    KeyTransition,
    SigningKey,
    SigningKeyRepository,
    current_key,
)
from echo_shared.identity.signing import KeyVault, public_jwk
from echo_shared.timeutil import Clock

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    rotation_period_seconds: int
    publish_ahead_seconds: int
    max_jwt_lifetime_seconds: int

    def __post_init__(self) -> None:
        if self.publish_ahead_seconds >= self.rotation_period_seconds:
            raise ValueError("a key must be published for less time than it signs")


@dataclass(slots=True)
class RotationReport:
    created: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    demoted: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.activated or self.demoted or self.retired)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "created": self.created,
            "activated": self.activated,
            "demoted": self.demoted,
            "retired": self.retired,
        }

    def add(self, step: "RotationReport") -> None:
        for mine, theirs in zip(self.as_dict().values(), step.as_dict().values(), strict=True):
            mine.extend(theirs)


# The events one step's report commits with (none: a store without an outbox, e.g. seeding).
type Announce = Callable[[RotationReport], Sequence["EventEnvelope"]]


def no_events(step: RotationReport) -> Sequence["EventEnvelope"]:
    return ()


class KeyRotator:
    def __init__(
        self, repository: SigningKeyRepository, vault: KeyVault, clock: Clock, policy: RotationPolicy
    ) -> None:
        self._repository = repository
        self._vault = vault
        self._clock = clock
        self._policy = policy

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def ensure_current(self, announce: Announce = no_events) -> RotationReport:
        """Bootstrap only: make sure some key signs (used by seeding and the first scheduled run)."""
        run = _Run(announce)
        keys = self._repository.list_keys()
        if current_key(keys) is None:
            self._bootstrap(keys, run)
        return run.report

    def run_scheduled(self, announce: Announce = no_events) -> RotationReport:
        run = _Run(announce)
        keys = self._repository.list_keys()
        now = self._now()
        current = current_key(keys)
        upcoming = _oldest(keys, KeyState.NEXT)
        if current is None:
            self._bootstrap(keys, run)
        else:
            due_at = (current.activated_at or current.created_at) + self._policy.rotation_period_seconds
            if upcoming is None and now >= due_at - self._policy.publish_ahead_seconds:
                self._create(KeyState.NEXT, run)
            elif (
                upcoming is not None
                and now >= due_at
                and now >= upcoming.created_at + self._policy.publish_ahead_seconds
            ):
                self._promote(upcoming, current, run)
        self._retire_expired(run)
        return run.report

    def rotate_now(self, *, compromised: bool = False, announce: Announce = no_events) -> RotationReport:
        run = _Run(announce)
        keys = self._repository.list_keys()
        current = current_key(keys)
        upcoming = _oldest(keys, KeyState.NEXT) or self._create(KeyState.NEXT, run)
        self._promote(upcoming, current, run, retire_old=compromised)
        self._retire_expired(run)
        return run.report

    def _bootstrap(self, keys: list[SigningKey], run: "_Run") -> None:
        upcoming = _oldest(keys, KeyState.NEXT)
        if upcoming is not None:
            self._promote(upcoming, None, run)
        else:
            self._create(KeyState.CURRENT, run)

    def _create(self, state: KeyState, run: "_Run") -> SigningKey:
        key_ref, public_der = self._vault.create_signing_key()
        jwk = public_jwk(public_der)
        now = self._now()
        key = SigningKey(
            kid=jwk["kid"],
            key_ref=key_ref,
            state=state,
            public_jwk=jwk,
            created_at=now,
            activated_at=now if state is KeyState.CURRENT else None,
        )
        step = RotationReport(created=[key.kid], activated=[key.kid] if state is KeyState.CURRENT else [])
        self._apply([KeyTransition(key, expected=None)], step, run)
        return key

    def _promote(
        self,
        upcoming: SigningKey,
        current: SigningKey | None,
        run: "_Run",
        *,
        retire_old: bool = False,
    ) -> None:
        now = self._now()
        transitions = [
            KeyTransition(replace(upcoming, state=KeyState.CURRENT, activated_at=now), KeyState.NEXT)
        ]
        if current is not None:
            if retire_old:
                self._vault.schedule_deletion(current.key_ref)
                demoted = replace(current, state=KeyState.RETIRED, retire_after=now, retired_at=now)
            else:
                retire_after = now + self._policy.max_jwt_lifetime_seconds
                demoted = replace(current, state=KeyState.PREVIOUS, retire_after=retire_after)
            transitions.append(KeyTransition(demoted, KeyState.CURRENT))
        step = RotationReport(activated=[upcoming.kid])
        if current is not None:
            (step.retired if retire_old else step.demoted).append(current.kid)
        self._apply(transitions, step, run)

    def _retire_expired(self, run: "_Run") -> None:
        now = self._now()
        for key in self._repository.list_keys():
            if key.state is KeyState.PREVIOUS and key.retire_after is not None and key.retire_after <= now:
                # Deletion first: if the state write fails, the next run schedules it again (idempotent).
                self._vault.schedule_deletion(key.key_ref)
                retired = replace(key, state=KeyState.RETIRED, retired_at=now)
                self._apply(
                    [KeyTransition(retired, KeyState.PREVIOUS)], RotationReport(retired=[key.kid]), run
                )

    def _apply(self, transitions: list[KeyTransition], step: RotationReport, run: "_Run") -> None:
        """One step: its transitions and the events announcing it in one transaction."""
        self._repository.apply(transitions, run.announce(step))
        run.report.add(step)


@dataclass(slots=True)
class _Run:
    """One invocation's steps: what they did so far, and how each is announced."""

    announce: Announce
    report: RotationReport = field(default_factory=RotationReport)


def _oldest(keys: list[SigningKey], state: KeyState) -> SigningKey | None:
    matching = [k for k in keys if k.state is state]
    return min(matching, key=lambda k: k.created_at) if matching else None
