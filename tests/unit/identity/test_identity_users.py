"""Users API logic over the real Cedar engine: admins promote and demote, nobody else does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from echo_shared.authz.caller import Caller, TokenType
from echo_shared.authz.catalog import packaged_catalog
from echo_shared.identity.claims import Role
from echo_shared.identity.errors import Conflict, Forbidden, InvalidInput, NotFound
from echo_shared.identity.events import IdentityEvents
from echo_shared.identity.users import User
from users.logic import UsersService, change_roles

from tests.fakes.events import InMemoryEventPublisher
from tests.fakes.identity_attempts import InMemoryAttemptStore
from tests.fakes.identity_consents import InMemoryConsentStore
from tests.fakes.identity_users import InMemoryUserRepository
from tests.unit.authz.factories import AuthzWorld, build_world

TENANT = "acme"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_user(tenant: str, *, user_id: str, email: str, roles: tuple[Role, ...]) -> User:
    return User(tenant=tenant, user_id=user_id, email=email, password_hash="unused", roles=roles)


@dataclass
class UsersWorld:
    service: UsersService
    users: InMemoryUserRepository
    published: InMemoryEventPublisher
    authz: AuthzWorld


@pytest.fixture
def world() -> UsersWorld:
    published = InMemoryEventPublisher()  # the outbox
    users = InMemoryUserRepository(published)
    users.create(make_user(TENANT, user_id="usr_root", email="root@acme.test", roles=(Role.ADMIN,)))
    users.create(make_user(TENANT, user_id="usr_gus", email="gus@acme.test", roles=(Role.GUEST,)))
    authz = build_world(packaged_catalog())
    service = UsersService(
        users=users,
        attempts=InMemoryAttemptStore(),
        events=IdentityEvents(published, clock=lambda: NOW),
        clock=lambda: NOW,
        authz=authz.client,
        consents=InMemoryConsentStore(),
    )
    return UsersWorld(service, users, published, authz)


def caller(subject: str, *roles: str, scopes: str = "openid users:admin") -> Caller:
    return Caller(
        subject=subject,
        tenant=TENANT,
        token_type=TokenType.USER,
        roles=frozenset(roles),
        scopes=frozenset(scopes.split()),
        client_id="echo-acme-web",
        token_id="jti-1",
    )


ADMIN = caller("usr_root", "admin")


def test_an_admin_promotes_a_guest_to_member_and_the_change_is_audited(world: UsersWorld) -> None:
    # When the admin promotes the self-registered guest
    promoted = change_roles(world.service, ADMIN, "usr_gus", ["member"], "req-1")
    # Then the stored user is a member, and one event says who did it and what changed
    assert promoted.role_names == ("member",)
    stored = world.users.get(TENANT, "usr_gus")
    assert stored is not None
    assert stored.role_names == ("member",)
    [event] = [e for e in world.published.published if e.type == "user.roles_changed"]
    assert event.actor == "user:usr_root"
    assert event.resource == "user/usr_gus"
    assert event.data == {"roles": ["member"], "previous_roles": ["guest"]}
    # And Cedar was asked (an audited user:admin decision by the admin)
    decisions = [e for e in world.authz.publisher.published if e.type == "authz.decision"]
    assert [(d.actor, d.data["action"], d.data["decision"]) for d in decisions] == [
        ("user:usr_root", "user:admin", "allow")
    ]


def test_an_admin_demotes_a_member_back_to_guest(world: UsersWorld) -> None:
    change_roles(world.service, ADMIN, "usr_gus", ["member", "viewer"], "req-1")
    demoted = change_roles(world.service, ADMIN, "usr_gus", ["guest"], "req-2")
    assert demoted.role_names == ("guest",)


@pytest.mark.parametrize(
    "who",
    [
        caller("usr_gus", "guest"),
        caller("usr_bob", "member"),
        caller("usr_eve", "auditor"),
        caller("usr_root", "admin", scopes="openid documents:read"),
    ],
    ids=["guest", "member", "auditor", "admin-without-users-admin-scope"],
)
def test_only_cedar_says_who_changes_roles(world: UsersWorld, who: Caller) -> None:
    # A guest promoting themselves, a member, an auditor, an admin's token without users:admin
    with pytest.raises(Forbidden):
        change_roles(world.service, who, "usr_gus", ["admin"], "req-1")
    stored = world.users.get(TENANT, "usr_gus")
    assert stored is not None
    assert stored.role_names == ("guest",)
    assert not [e for e in world.published.published if e.type == "user.roles_changed"]


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (["superuser"], "unknown role"),
        ([], "at least one role"),
        (["guest", "admin"], "guest cannot be combined"),
    ],
)
def test_unknown_empty_or_mixed_guest_roles_are_invalid(
    world: UsersWorld, roles: list[str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        change_roles(world.service, ADMIN, "usr_gus", roles, "req-1")


def test_an_unknown_user_is_not_found_and_an_admin_cannot_demote_themselves(world: UsersWorld) -> None:
    with pytest.raises(NotFound):
        change_roles(world.service, ADMIN, "usr_nobody", ["member"], "req-1")
    with pytest.raises(Conflict):
        change_roles(world.service, ADMIN, "usr_root", ["member"], "req-1")


def test_a_user_of_another_tenant_is_not_found(world: UsersWorld) -> None:
    world.users.create(make_user("globex", user_id="usr_far", email="far@globex.test", roles=(Role.GUEST,)))
    with pytest.raises(NotFound):
        change_roles(world.service, ADMIN, "usr_far", ["admin"], "req-1")
