"""DynamoDB adapters for the identity ports.

Two tables (stacks/identity.py):
- IDENTITY_TABLE (`pk`, `sk`; TTL `expires_at`): typed items whose partition-key prefix names the
  item type, so IAM can grant each function only the prefixes it touches (`dynamodb:LeadingKeys`):
  `TENANT#<tenant>` / `USER#<id>` users and `EMAIL#<email>` email claims; `CLIENT#<id>`;
  `LOGIN#<digest>` login transactions; `SESSION#<digest>`; `CODE#<digest>`; `RT#<digest>` refresh
  tokens; `FAMILY#<id>` refresh-token families; `JTI#<jti>` revoked access tokens;
  `ATTEMPT#<key>` failed-login counters; `VERIFY#<id>` email verifications;
  `CONSENT#<tenant>#<user id>` / `CLIENT#<client id>` a user's consents (one partition per user, so
  listing and deleting a user's consents is one Query).
- SIGNING_KEYS_TABLE (`kid`): the signing keys' lifecycle.
TTL deletion is lazy, so the logic compares `expires_at` with its clock on every read.
"""

import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from echo_shared.dynamodb import CANCELLED_CONDITION, bind_table, cancellation_codes, outbox_for
from echo_shared.identity.attempts import AttemptBudgetSpent, AttemptCounter, AttemptPolicy
from echo_shared.identity.claims import Role
from echo_shared.identity.clients import AuthMethod, ClientType, GrantType, OAuthClient
from echo_shared.identity.consents import Consent
from echo_shared.identity.email_verification import EmailVerification
from echo_shared.identity.errors import (
    CodeReplayed,
    Conflict,
    EmailTaken,
    FamilyRevoked,
    IdentityStoreUnavailable,
    NotFound,
    RefreshTokenReused,
    VerificationTokenUsed,
)
from echo_shared.identity.grants import (
    AuthorizationCode,
    AuthorizationRequest,
    IssuedTokens,
    LoginTransaction,
    NewFamily,
    RefreshFamily,
    RefreshToken,
    Session,
    StoredCode,
    live_access_tokens,
)
from echo_shared.identity.keys import KeyState, KeyTransition, SigningKey
from echo_shared.identity.users import User, UserPage, UserStatus

if TYPE_CHECKING:  # annotations only: the authorizer imports this module and never writes events
    from echo_shared.events.envelope import EventEnvelope
    from echo_shared.events.outbox import DynamoOutbox

_CONDITION_FAILED = "ConditionalCheckFailedException"
_TRANSACTION_CONFLICT = "TransactionConflict"
_TRANSACTION_CONFLICT_ERROR = "TransactionConflictException"
# Writes that lost to a parallel request's transaction are retried this often, with jitter.
_CONTENDED_TRIES = 6


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 (jitter, not a secret)


class _Item(Model):
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class UserItem(_Item):
    user_id = UnicodeAttribute()
    tenant = UnicodeAttribute()
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    roles = JSONAttribute()
    status = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    email_verified = BooleanAttribute(null=True)


class EmailClaimItem(_Item):
    user_id = UnicodeAttribute()


class ClientItem(_Item):
    client_id = UnicodeAttribute()
    tenant = UnicodeAttribute()
    name = UnicodeAttribute()
    client_type = UnicodeAttribute()
    auth_method = UnicodeAttribute()
    grant_types = UnicodeSetAttribute()
    allowed_scopes = UnicodeSetAttribute()
    redirect_uris = JSONAttribute(default=list)
    post_logout_redirect_uris = JSONAttribute(default=list)
    secret_hash = UnicodeAttribute(null=True)
    roles = JSONAttribute(default=list)
    allow_registration = BooleanAttribute(default=False)
    # Nullable: clients stored before consent read as third-party until re-registered.
    first_party = BooleanAttribute(null=True)


class ConsentItem(_Item):
    client_id = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    granted_at = NumberAttribute()
    updated_at = NumberAttribute()


class _ExpiringItem(_Item):
    expires_at = NumberAttribute()


class LoginTransactionItem(_ExpiringItem):
    csrf_token = UnicodeAttribute()
    tenant = UnicodeAttribute()
    request = UnicodeAttribute(null=True)


class SessionItem(_ExpiringItem):
    tenant = UnicodeAttribute()
    user_id = UnicodeAttribute()
    auth_time = NumberAttribute()


class VerificationItem(_ExpiringItem):
    tenant = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email_digest = UnicodeAttribute()
    secret_digest = UnicodeAttribute()
    used_at = NumberAttribute(null=True)


class CodeItem(_ExpiringItem):
    client_id = UnicodeAttribute()
    tenant = UnicodeAttribute()
    user_id = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    scope = JSONAttribute()
    code_challenge = UnicodeAttribute()
    auth_time = NumberAttribute()
    nonce = UnicodeAttribute(null=True)
    resource = UnicodeAttribute(null=True)
    used_at = NumberAttribute(null=True)
    issued_jti = UnicodeAttribute(null=True)
    issued_exp = NumberAttribute(null=True)
    issued_family = UnicodeAttribute(null=True)


class RefreshTokenItem(_ExpiringItem):
    family_id = UnicodeAttribute()
    rotated_at = NumberAttribute(null=True)
    successor_salt = UnicodeAttribute(null=True)


class FamilyItem(_ExpiringItem):
    tenant = UnicodeAttribute()
    user_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    scope = JSONAttribute()
    auth_time = NumberAttribute()
    created_at = NumberAttribute()
    revoked_at = NumberAttribute(null=True)
    access_tokens = JSONAttribute(default=dict)  # jti -> exp


class RevokedTokenItem(_ExpiringItem):
    pass


class AttemptItem(_ExpiringItem):
    # Nullable: items written before attempt budgets (failures/last_failure_at) read as ended windows.
    attempts = NumberAttribute(null=True)
    window_started_at = NumberAttribute(null=True)
    window_seconds = NumberAttribute(null=True)
    attempt_limit = NumberAttribute(null=True)


class SigningKeyItem(Model):
    kid = UnicodeAttribute(hash_key=True)
    key_ref = UnicodeAttribute()
    state = UnicodeAttribute()
    public_jwk = UnicodeAttribute()
    created_at = NumberAttribute()
    activated_at = NumberAttribute(null=True)
    retire_after = NumberAttribute(null=True)
    retired_at = NumberAttribute(null=True)


@contextmanager
def _store_errors() -> Iterator[None]:
    """Anything DynamoDB did not do that is not a domain outcome is 'unavailable' (503, retry)."""
    try:
        yield
    except PynamoDBException as exc:
        raise IdentityStoreUnavailable(f"identity store failed ({exc.cause_response_code})") from exc


def _save_with_events(
    item: Model, outbox: "DynamoOutbox | None", events: Sequence["EventEnvelope"], connection: Connection
) -> None:
    """Put `item`, with `events` in the store's outbox in the same transaction."""
    outbox = outbox_for(outbox, events)
    if outbox is None:
        with _store_errors():
            item.save()
        return
    try:
        with TransactWrite(connection=connection) as transaction:
            transaction.save(item)
            outbox.add_to(transaction, events)
    except TransactWriteError as exc:
        raise IdentityStoreUnavailable("identity store failed") from exc


def _user_key(tenant: str) -> str:
    return f"TENANT#{tenant}"


class DynamoUserRepository:
    """Every state change writes its events to the outbox in the same transaction (ADR 0014)."""

    def __init__(self, table_name: str, *, outbox: "DynamoOutbox | None" = None) -> None:
        self._users = bind_table(UserItem, table_name)
        self._emails = bind_table(EmailClaimItem, table_name)
        self._connection = Connection()
        self._outbox = outbox

    def get(self, tenant: str, user_id: str) -> User | None:
        with _store_errors():
            try:
                item = self._users.get(_user_key(tenant), f"USER#{user_id}", consistent_read=True)
            except DoesNotExist:
                return None
        return _to_user(item)

    def find_by_email(self, tenant: str, email: str) -> User | None:
        with _store_errors():
            try:
                claim = self._emails.get(_user_key(tenant), f"EMAIL#{email}", consistent_read=True)
            except DoesNotExist:
                return None
        return self.get(tenant, claim.user_id)

    def create(self, user: User, *, events: Sequence["EventEnvelope"] = ()) -> None:
        outbox = outbox_for(self._outbox, events)
        claim = self._emails(_user_key(user.tenant), f"EMAIL#{user.email}", user_id=user.user_id)
        item = self._users(
            _user_key(user.tenant),
            f"USER#{user.user_id}",
            user_id=user.user_id,
            tenant=user.tenant,
            email=user.email,
            password_hash=user.password_hash,
            roles=list(user.role_names),
            status=user.status.value,
            created_at=user.created_at,
            updated_at=user.updated_at,
            email_verified=user.email_verified,
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(claim, condition=self._emails.pk.does_not_exist())
                transaction.save(item, condition=self._users.pk.does_not_exist())
                if outbox is not None:
                    outbox.add_to(transaction, events)
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == CANCELLED_CONDITION:
                raise EmailTaken("an account with this email already exists") from exc
            if len(codes) > 1 and codes[1] == CANCELLED_CONDITION:
                raise Conflict("user id taken") from exc
            raise IdentityStoreUnavailable("identity store failed") from exc

    def update_password_hash(self, tenant: str, user_id: str, password_hash: str, *, now: int) -> None:
        self._update(
            tenant, user_id, [self._users.password_hash.set(password_hash), self._users.updated_at.set(now)]
        )

    def set_status(
        self,
        tenant: str,
        user_id: str,
        status: UserStatus,
        *,
        now: int,
        events: Sequence["EventEnvelope"] = (),
    ) -> User:
        return self._change(
            tenant, user_id, [self._users.status.set(status.value), self._users.updated_at.set(now)], events
        )

    def set_roles(
        self,
        tenant: str,
        user_id: str,
        roles: tuple[Role, ...],
        *,
        now: int,
        events: Sequence["EventEnvelope"] = (),
    ) -> User:
        return self._change(
            tenant,
            user_id,
            [self._users.roles.set([role.value for role in roles]), self._users.updated_at.set(now)],
            events,
        )

    def mark_email_verified(
        self, tenant: str, user_id: str, *, now: int, events: Sequence["EventEnvelope"] = ()
    ) -> User:
        return self._change(
            tenant, user_id, [self._users.email_verified.set(True), self._users.updated_at.set(now)], events
        )

    def delete(self, tenant: str, user_id: str, *, events: Sequence["EventEnvelope"] = ()) -> User:
        outbox = outbox_for(self._outbox, events)
        user = self.get(tenant, user_id)
        if user is None:
            raise NotFound("no such user")
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.delete(
                    self._users(_user_key(tenant), f"USER#{user_id}"), condition=self._users.pk.exists()
                )
                transaction.delete(
                    self._emails(_user_key(tenant), f"EMAIL#{user.email}"),
                    condition=self._emails.user_id == user_id,
                )
                if outbox is not None:
                    outbox.add_to(transaction, events)
        except TransactWriteError as exc:
            if CANCELLED_CONDITION in cancellation_codes(exc):
                raise NotFound("no such user") from exc
            raise IdentityStoreUnavailable("identity store failed") from exc
        return user

    def list_users(self, tenant: str, *, limit: int, cursor: str | None) -> UserPage:
        start = None if cursor is None else {"pk": {"S": _user_key(tenant)}, "sk": {"S": f"USER#{cursor}"}}
        with _store_errors():
            results = self._users.query(
                _user_key(tenant),
                self._users.sk.startswith("USER#"),
                limit=limit,
                last_evaluated_key=start,
                consistent_read=True,
            )
            users = [_to_user(item) for item in results]
            more = results.last_evaluated_key is not None
        return UserPage(users, users[-1].user_id if more and users else None)

    def _update(self, tenant: str, user_id: str, actions: list[Action]) -> UserItem:
        item = self._users(_user_key(tenant), f"USER#{user_id}")
        try:
            item.update(actions=actions, condition=self._users.pk.exists())
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                raise NotFound("no such user") from exc
            raise IdentityStoreUnavailable("identity store failed") from exc
        return item

    def _change(
        self, tenant: str, user_id: str, actions: list[Action], events: Sequence["EventEnvelope"]
    ) -> User:
        """An update of the user and its events in one transaction (a plain update without events)."""
        outbox = outbox_for(self._outbox, events)
        if outbox is None:
            return _to_user(self._update(tenant, user_id, actions))
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(
                    self._users(_user_key(tenant), f"USER#{user_id}"),
                    actions=actions,
                    condition=self._users.pk.exists(),
                )
                outbox.add_to(transaction, events)
        except TransactWriteError as exc:
            # Puts (the events) come before updates: the user's reason is the last one.
            codes = cancellation_codes(exc)
            if codes and codes[-1] == CANCELLED_CONDITION:
                raise NotFound("no such user") from exc
            raise IdentityStoreUnavailable("identity store failed") from exc
        user = self.get(tenant, user_id)
        if user is None:
            raise NotFound("no such user")
        return user


def _to_user(item: UserItem) -> User:
    return User(
        tenant=item.tenant,
        user_id=item.user_id,
        email=item.email,
        password_hash=item.password_hash,
        roles=tuple(Role(role) for role in item.roles),
        status=UserStatus(item.status),
        created_at=int(item.created_at),
        updated_at=int(item.updated_at),
        email_verified=bool(item.email_verified),
    )


class DynamoClientRepository:
    def __init__(self, table_name: str) -> None:
        self._clients = bind_table(ClientItem, table_name)

    def get(self, client_id: str) -> OAuthClient | None:
        with _store_errors():
            try:
                item = self._clients.get(f"CLIENT#{client_id}", "CLIENT")
            except DoesNotExist:
                return None
        return OAuthClient(
            client_id=item.client_id,
            tenant=item.tenant,
            name=item.name,
            client_type=ClientType(item.client_type),
            auth_method=AuthMethod(item.auth_method),
            grant_types=frozenset(GrantType(g) for g in item.grant_types),
            allowed_scopes=frozenset(item.allowed_scopes),
            redirect_uris=tuple(item.redirect_uris),
            post_logout_redirect_uris=tuple(item.post_logout_redirect_uris),
            secret_hash=item.secret_hash,
            roles=tuple(item.roles),
            allow_registration=bool(item.allow_registration),
            first_party=bool(item.first_party),
        )

    def put(self, client: OAuthClient) -> None:
        item = self._clients(
            f"CLIENT#{client.client_id}",
            "CLIENT",
            client_id=client.client_id,
            tenant=client.tenant,
            name=client.name,
            client_type=client.client_type.value,
            auth_method=client.auth_method.value,
            grant_types={g.value for g in client.grant_types},
            allowed_scopes=set(client.allowed_scopes),
            redirect_uris=list(client.redirect_uris),
            post_logout_redirect_uris=list(client.post_logout_redirect_uris),
            secret_hash=client.secret_hash,
            roles=list(client.roles),
            allow_registration=client.allow_registration,
            first_party=client.first_party,
        )
        with _store_errors():
            item.save()


def _consent_key(tenant: str, user_id: str) -> str:
    return f"CONSENT#{tenant}#{user_id}"


class DynamoConsentStore:
    """Consents, one partition per user (`CONSENT#<tenant>#<user id>`), one item per client."""

    def __init__(self, table_name: str, *, outbox: "DynamoOutbox | None" = None) -> None:
        self._consents = bind_table(ConsentItem, table_name)
        self._connection = Connection()
        self._outbox = outbox

    def get_consent(self, tenant: str, user_id: str, client_id: str) -> Consent | None:
        with _store_errors():
            try:
                item = self._consents.get(
                    _consent_key(tenant, user_id), f"CLIENT#{client_id}", consistent_read=True
                )
            except DoesNotExist:
                return None
        return _to_consent(tenant, user_id, item)

    def put_consent(self, consent: Consent, *, events: Sequence["EventEnvelope"] = ()) -> None:
        item = self._consents(
            _consent_key(consent.tenant, consent.user_id),
            f"CLIENT#{consent.client_id}",
            client_id=consent.client_id,
            scopes=set(consent.scopes),
            granted_at=consent.granted_at,
            updated_at=consent.updated_at,
        )
        _save_with_events(item, self._outbox, events, self._connection)

    def list_consents(self, tenant: str, user_id: str) -> list[Consent]:
        with _store_errors():
            items = list(
                self._consents.query(
                    _consent_key(tenant, user_id),
                    self._consents.sk.startswith("CLIENT#"),
                    consistent_read=True,
                )
            )
        return [_to_consent(tenant, user_id, item) for item in items]

    def delete_consent(self, consent: Consent, *, events: Sequence["EventEnvelope"] = ()) -> bool:
        outbox = outbox_for(self._outbox, events)
        item = self._consents(_consent_key(consent.tenant, consent.user_id), f"CLIENT#{consent.client_id}")
        unchanged = self._consents.updated_at == consent.updated_at
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.delete(item, condition=unchanged)
                if outbox is not None:
                    outbox.add_to(transaction, events)
        except TransactWriteError as exc:
            # PynamoDB sends deletes before puts: [consent, events...].
            codes = cancellation_codes(exc)
            if codes and codes[0] == CANCELLED_CONDITION:
                return False
            raise IdentityStoreUnavailable("identity store failed") from exc
        return True

    def delete_user_consents(self, tenant: str, user_id: str) -> int:
        consents = self.list_consents(tenant, user_id)
        with _store_errors(), self._consents.batch_write() as batch:
            for consent in consents:
                batch.delete(self._consents(_consent_key(tenant, user_id), f"CLIENT#{consent.client_id}"))
        return len(consents)


def _to_consent(tenant: str, user_id: str, item: ConsentItem) -> Consent:
    return Consent(
        tenant=tenant,
        user_id=user_id,
        client_id=item.client_id,
        scopes=frozenset(item.scopes),
        granted_at=int(item.granted_at),
        updated_at=int(item.updated_at),
    )


def _get_live[M: _ExpiringItem](model: type[M], pk: str, sk: str) -> M | None:
    """The item, or None. TTL deletion is lazy: callers compare `expires_at` with their clock."""
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


class DynamoEmailVerificationStore:
    """Email verifications (`VERIFY#<id>`): digests only; used once, by one conditional update."""

    def __init__(self, table_name: str, *, outbox: "DynamoOutbox | None" = None) -> None:
        self._items = bind_table(VerificationItem, table_name)
        self._outbox = outbox
        self._connection = Connection()

    def put_verification(
        self, verification: EmailVerification, *, events: Sequence["EventEnvelope"] = ()
    ) -> None:
        item = self._items(
            f"VERIFY#{verification.verification_id}",
            "VERIFY",
            tenant=verification.tenant,
            user_id=verification.user_id,
            email_digest=verification.email_digest,
            secret_digest=verification.secret_digest,
            expires_at=verification.expires_at,
        )
        _save_with_events(item, self._outbox, events, self._connection)

    def get_verification(self, verification_id: str) -> EmailVerification | None:
        with _store_errors():
            item = _get_live(self._items, f"VERIFY#{verification_id}", "VERIFY")
        if item is None:
            return None
        return EmailVerification(
            verification_id=verification_id,
            tenant=item.tenant,
            user_id=item.user_id,
            email_digest=item.email_digest,
            secret_digest=item.secret_digest,
            expires_at=int(item.expires_at),
            used_at=None if item.used_at is None else int(item.used_at),
        )

    def use_verification(self, verification_id: str, *, now: int) -> None:
        item = self._items(f"VERIFY#{verification_id}", "VERIFY")
        try:
            item.update(
                actions=[self._items.used_at.set(now)],
                condition=self._items.pk.exists() & self._items.used_at.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == _CONDITION_FAILED:
                raise VerificationTokenUsed("this verification link was already used") from exc
            raise IdentityStoreUnavailable("identity store failed") from exc


class DynamoGrantStore:
    """Login transactions, sessions, codes, refresh-token families and revoked jtis."""

    def __init__(self, table_name: str, *, outbox: "DynamoOutbox | None" = None) -> None:
        self._outbox = outbox
        self._transactions = bind_table(LoginTransactionItem, table_name)
        self._sessions = bind_table(SessionItem, table_name)
        self._codes = bind_table(CodeItem, table_name)
        self._refresh = bind_table(RefreshTokenItem, table_name)
        self._families = bind_table(FamilyItem, table_name)
        self._revoked = bind_table(RevokedTokenItem, table_name)
        self._connection = Connection()

    def put_transaction(self, transaction: LoginTransaction) -> None:
        item = self._transactions(
            f"LOGIN#{transaction.handle_hash}",
            "LOGIN",
            csrf_token=transaction.csrf_token,
            tenant=transaction.tenant,
            request=None if transaction.request is None else transaction.request.to_json(),
            expires_at=transaction.expires_at,
        )
        with _store_errors():
            item.save()

    def get_transaction(self, handle_hash: str) -> LoginTransaction | None:
        with _store_errors():
            item = _get_live(self._transactions, f"LOGIN#{handle_hash}", "LOGIN")
        if item is None:
            return None
        return LoginTransaction(
            handle_hash=handle_hash,
            csrf_token=item.csrf_token,
            tenant=item.tenant,
            request=None if item.request is None else AuthorizationRequest.from_json(item.request),
            expires_at=int(item.expires_at),
        )

    def delete_transaction(self, handle_hash: str) -> None:
        with _store_errors():
            self._transactions(f"LOGIN#{handle_hash}", "LOGIN").delete()

    def put_session(self, session: Session) -> None:
        item = self._sessions(
            f"SESSION#{session.handle_hash}",
            "SESSION",
            tenant=session.tenant,
            user_id=session.user_id,
            auth_time=session.auth_time,
            expires_at=session.expires_at,
        )
        with _store_errors():
            item.save()

    def get_session(self, handle_hash: str) -> Session | None:
        with _store_errors():
            item = _get_live(self._sessions, f"SESSION#{handle_hash}", "SESSION")
        if item is None:
            return None
        return Session(handle_hash, item.tenant, item.user_id, int(item.auth_time), int(item.expires_at))

    def delete_session(self, handle_hash: str) -> None:
        with _store_errors():
            self._sessions(f"SESSION#{handle_hash}", "SESSION").delete()

    def put_code(self, code: AuthorizationCode) -> None:
        item = self._codes(
            f"CODE#{code.code_hash}",
            "CODE",
            client_id=code.client_id,
            tenant=code.tenant,
            user_id=code.user_id,
            redirect_uri=code.redirect_uri,
            scope=list(code.scope),
            code_challenge=code.code_challenge,
            auth_time=code.auth_time,
            nonce=code.nonce,
            resource=code.resource,
            expires_at=code.expires_at,
        )
        with _store_errors():
            item.save(condition=self._codes.pk.does_not_exist())

    def find_code(self, code_hash: str) -> StoredCode | None:
        with _store_errors():
            item = _get_live(self._codes, f"CODE#{code_hash}", "CODE")
        if item is None:
            return None
        issued = None
        if item.used_at is not None:
            issued = IssuedTokens(
                access_jti=item.issued_jti or "",
                access_exp=int(item.issued_exp or 0),
                family_id=item.issued_family,
            )
        return StoredCode(_to_code(code_hash, item), issued)

    def redeem_code(
        self,
        code_hash: str,
        *,
        now: int,
        issued: IssuedTokens,
        family: NewFamily | None = None,
        events: Sequence["EventEnvelope"] = (),
    ) -> None:
        outbox = outbox_for(self._outbox, events)
        item = self._codes(f"CODE#{code_hash}", "CODE")
        actions: list[Action] = [
            self._codes.used_at.set(now),
            self._codes.issued_jti.set(issued.access_jti),
            self._codes.issued_exp.set(issued.access_exp),
        ]
        if issued.family_id is not None:
            actions.append(self._codes.issued_family.set(issued.family_id))
        puts = 0
        try:
            with TransactWrite(connection=self._connection) as transaction:
                if family is not None:
                    transaction.save(
                        self._family_item(family.family), condition=self._families.pk.does_not_exist()
                    )
                    transaction.save(
                        self._token_item(family.token), condition=self._refresh.pk.does_not_exist()
                    )
                    puts += 2
                if outbox is not None:
                    outbox.add_to(transaction, events)
                    puts += len(events)
                transaction.update(
                    item,
                    actions=actions,
                    condition=self._codes.pk.exists() & self._codes.used_at.does_not_exist(),
                )
        except TransactWriteError as exc:
            # PynamoDB sends puts before updates: [family, token, events..., code].
            codes = cancellation_codes(exc)
            if len(codes) <= puts or codes[puts] != CANCELLED_CONDITION:
                raise IdentityStoreUnavailable("identity store failed") from exc
            with _store_errors():
                used = _get_live(self._codes, f"CODE#{code_hash}", "CODE")
            if used is None:
                raise NotFound("unknown authorization code") from None
            raise CodeReplayed(
                used.issued_family, used.issued_jti, None if used.issued_exp is None else int(used.issued_exp)
            ) from None

    def find(self, token_hash: str) -> tuple[RefreshToken, RefreshFamily] | None:
        with _store_errors():
            token = _get_live(self._refresh, f"RT#{token_hash}", "RT")
            if token is None:
                return None
            family = _get_live(self._families, f"FAMILY#{token.family_id}", "FAMILY")
        if family is None:
            return None
        return (
            RefreshToken(
                token_hash,
                token.family_id,
                int(token.expires_at),
                None if token.rotated_at is None else int(token.rotated_at),
                token.successor_salt,
            ),
            _to_family(family),
        )

    def rotate(
        self,
        old_hash: str,
        new: RefreshToken,
        *,
        now: int,
        access_jti: str,
        access_exp: int,
        successor_salt: str,
        events: Sequence["EventEnvelope"] = (),
    ) -> None:
        outbox = outbox_for(self._outbox, events)
        with _store_errors():
            family = _get_live(self._families, f"FAMILY#{new.family_id}", "FAMILY")
        if family is None:
            raise FamilyRevoked(new.family_id)
        tokens = {**live_access_tokens(family.access_tokens, now), access_jti: access_exp}
        for attempt in range(_CONTENDED_TRIES):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.update(
                        self._refresh(f"RT#{old_hash}", "RT"),
                        actions=[
                            self._refresh.rotated_at.set(now),
                            self._refresh.successor_salt.set(successor_salt),
                        ],
                        condition=self._refresh.pk.exists() & self._refresh.rotated_at.does_not_exist(),
                    )
                    transaction.save(self._token_item(new), condition=self._refresh.pk.does_not_exist())
                    if outbox is not None:
                        outbox.add_to(transaction, events)
                    transaction.update(
                        self._families(f"FAMILY#{new.family_id}", "FAMILY"),
                        actions=[self._families.access_tokens.set(tokens)],
                        condition=self._families.pk.exists() & self._families.revoked_at.does_not_exist(),
                    )
                return
            except TransactWriteError as exc:
                # PynamoDB sends puts before updates: [new token, events..., old token, family].
                codes = cancellation_codes(exc)
                old_token, family_update = 1 + len(events), 2 + len(events)
                if len(codes) > old_token and codes[old_token] == CANCELLED_CONDITION:
                    raise RefreshTokenReused(new.family_id) from exc
                if len(codes) > family_update and codes[family_update] == CANCELLED_CONDITION:
                    raise FamilyRevoked(new.family_id) from exc
                if _TRANSACTION_CONFLICT not in codes:
                    raise IdentityStoreUnavailable("identity store failed") from exc
            # Another request's transaction holds one of the items (a parallel refresh): try again;
            # if it rotated the token, the condition above now says so.
            _back_off(attempt)
        raise IdentityStoreUnavailable("refresh token contended")

    def record_access_token(self, family_id: str, *, now: int, access_jti: str, access_exp: int) -> None:
        families = self._families
        for attempt in range(_CONTENDED_TRIES):
            with _store_errors():
                family = _get_live(families, f"FAMILY#{family_id}", "FAMILY")
            if family is None or family.revoked_at is not None:
                raise FamilyRevoked(family_id)
            previous = family.access_tokens
            tokens = {**live_access_tokens(previous, now), access_jti: access_exp}
            try:
                # Optimistic: only if nobody changed the family's list since it was read.
                family.update(
                    actions=[families.access_tokens.set(tokens)],
                    condition=families.revoked_at.does_not_exist() & (families.access_tokens == previous),
                )
                return
            except UpdateError as exc:
                if exc.cause_response_code not in (_CONDITION_FAILED, _TRANSACTION_CONFLICT_ERROR):
                    raise IdentityStoreUnavailable("identity store failed") from exc
            _back_off(attempt)
        raise IdentityStoreUnavailable("refresh family contended")

    def revoke_family(
        self, family_id: str, *, now: int, events: Sequence["EventEnvelope"] = ()
    ) -> RefreshFamily | None:
        key = (f"FAMILY#{family_id}", "FAMILY")
        item = self._families(*key)
        actions: list[Action] = [self._families.revoked_at.set(now)]
        condition = self._families.pk.exists() & self._families.revoked_at.does_not_exist()
        outbox = outbox_for(self._outbox, events)
        try:
            if outbox is None:
                item.update(actions=actions, condition=condition)
                return _to_family(item)
            with TransactWrite(connection=self._connection) as transaction:
                outbox.add_to(transaction, events)
                transaction.update(item, actions=actions, condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise IdentityStoreUnavailable("identity store failed") from exc
        except TransactWriteError as exc:
            # PynamoDB sends puts before updates: [events..., family].
            codes = cancellation_codes(exc)
            if len(codes) <= len(events) or codes[len(events)] != CANCELLED_CONDITION:
                raise IdentityStoreUnavailable("identity store failed") from exc
        # Revoked just now (in the transaction), before, or never there: read what is stored.
        with _store_errors():
            existing = _get_live(self._families, *key)
        return None if existing is None else _to_family(existing)

    def revoke(self, jti: str, *, expires_at: int, events: Sequence["EventEnvelope"] = ()) -> None:
        revoked = self._revoked(f"JTI#{jti}", "JTI", expires_at=expires_at)
        _save_with_events(revoked, self._outbox, events, self._connection)

    def is_revoked(self, jti: str) -> bool:
        with _store_errors():
            return _get_live(self._revoked, f"JTI#{jti}", "JTI") is not None

    def _family_item(self, family: RefreshFamily) -> FamilyItem:
        return self._families(
            f"FAMILY#{family.family_id}",
            "FAMILY",
            tenant=family.tenant,
            user_id=family.user_id,
            client_id=family.client_id,
            scope=list(family.scope),
            auth_time=family.auth_time,
            created_at=family.created_at,
            expires_at=family.expires_at,
            revoked_at=family.revoked_at,
            access_tokens=dict(family.access_tokens),
        )

    def _token_item(self, token: RefreshToken) -> RefreshTokenItem:
        return self._refresh(
            f"RT#{token.token_hash}", "RT", family_id=token.family_id, expires_at=token.expires_at
        )


def _to_code(code_hash: str, item: CodeItem) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id=item.client_id,
        tenant=item.tenant,
        user_id=item.user_id,
        redirect_uri=item.redirect_uri,
        scope=tuple(item.scope),
        code_challenge=item.code_challenge,
        auth_time=int(item.auth_time),
        expires_at=int(item.expires_at),
        nonce=item.nonce,
        resource=item.resource,
    )


def _to_family(item: FamilyItem) -> RefreshFamily:
    return RefreshFamily(
        family_id=item.pk.removeprefix("FAMILY#"),
        tenant=item.tenant,
        user_id=item.user_id,
        client_id=item.client_id,
        scope=tuple(item.scope),
        auth_time=int(item.auth_time),
        created_at=int(item.created_at),
        expires_at=int(item.expires_at),
        revoked_at=None if item.revoked_at is None else int(item.revoked_at),
        access_tokens={jti: int(exp) for jti, exp in item.access_tokens.items()},
    )


# A key restarted concurrently by another request is retried; more than this is contention.
_RESERVE_TRIES = 4
# TTL slack after a window ends, so a lazily deleted item is still readable as "ended".
_ATTEMPT_TTL_SLACK = 60


class DynamoAttemptStore:
    """Attempt budgets; every count is one conditional UpdateItem, so parallel requests cannot
    take more units than the budget holds."""

    def __init__(self, table_name: str) -> None:
        self._attempts = bind_table(AttemptItem, table_name)

    def get(self, key: str) -> AttemptCounter | None:
        with _store_errors():
            item = _get_live(self._attempts, f"ATTEMPT#{key}", "ATTEMPT")
        return None if item is None or item.attempts is None else _to_counter(key, item)

    def reserve(self, key: str, *, now: int, policy: AttemptPolicy) -> AttemptCounter:
        attempts = self._attempts
        for _ in range(_RESERVE_TRIES):
            item = attempts(f"ATTEMPT#{key}", "ATTEMPT")
            try:
                # One unit, atomically: a new key starts its window now; a live window with budget
                # left counts one more. Anything else fails the condition and counts nothing.
                item.update(
                    actions=[
                        attempts.attempts.add(1),
                        attempts.window_started_at.set(attempts.window_started_at | now),
                        attempts.window_seconds.set(attempts.window_seconds | policy.window_seconds),
                        attempts.attempt_limit.set(policy.limit),
                        attempts.expires_at.set(
                            attempts.expires_at | now + policy.window_seconds + _ATTEMPT_TTL_SLACK
                        ),
                    ],
                    condition=attempts.pk.does_not_exist()
                    | (
                        (attempts.window_started_at > now - policy.window_seconds)
                        & (attempts.attempts < policy.limit)
                    ),
                )
                return _to_counter(key, item)
            except UpdateError as exc:
                if exc.cause_response_code != _CONDITION_FAILED:
                    raise IdentityStoreUnavailable("identity store failed") from exc
            with _store_errors():
                current = _get_live(attempts, f"ATTEMPT#{key}", "ATTEMPT")
            if current is None:
                continue  # reset in between: count again
            started = None if current.window_started_at is None else int(current.window_started_at)
            if started is not None and current.attempts is not None and now - started < policy.window_seconds:
                raise AttemptBudgetSpent(_to_counter(key, current))
            # The window ended: start a new one. Only one of several racing restarts wins; the
            # others count against the new window on their next try.
            restart = attempts(f"ATTEMPT#{key}", "ATTEMPT")
            same_window = (
                attempts.window_started_at.does_not_exist()
                if started is None
                else attempts.window_started_at == started
            )
            try:
                restart.update(
                    actions=[
                        attempts.attempts.set(1),
                        attempts.window_started_at.set(now),
                        attempts.window_seconds.set(policy.window_seconds),
                        attempts.attempt_limit.set(policy.limit),
                        attempts.expires_at.set(now + policy.window_seconds + _ATTEMPT_TTL_SLACK),
                    ],
                    condition=attempts.pk.exists() & same_window,
                )
                return _to_counter(key, restart)
            except UpdateError as exc:
                if exc.cause_response_code != _CONDITION_FAILED:
                    raise IdentityStoreUnavailable("identity store failed") from exc
        raise IdentityStoreUnavailable("attempt counter contended")

    def release(self, reservation: AttemptCounter) -> None:
        attempts = self._attempts
        item = attempts(f"ATTEMPT#{reservation.key}", "ATTEMPT")
        try:
            item.update(
                actions=[attempts.attempts.add(-1)],
                condition=(attempts.window_started_at == reservation.window_started_at)
                & (attempts.attempts > 0),
            )
        except UpdateError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise IdentityStoreUnavailable("identity store failed") from exc
            # A new window (or a reset) since the reservation: nothing of it is left to give back.

    def reset(self, key: str) -> None:
        with _store_errors():
            self._attempts(f"ATTEMPT#{key}", "ATTEMPT").delete()


def _to_counter(key: str, item: AttemptItem) -> AttemptCounter:
    return AttemptCounter(
        key=key,
        attempts=int(item.attempts or 0),
        window_started_at=int(item.window_started_at or 0),
        window_seconds=int(item.window_seconds or 0),
        limit=int(item.attempt_limit or 0),
    )


class DynamoSigningKeyRepository:
    """A rotation step's key writes and its `key.rotated` commit together (ADR 0014)."""

    def __init__(self, table_name: str, *, outbox: "DynamoOutbox | None" = None) -> None:
        self._keys = bind_table(SigningKeyItem, table_name)
        self._connection = Connection()
        self._outbox = outbox

    def list_keys(self) -> list[SigningKey]:
        with _store_errors():
            return [_to_signing_key(item) for item in self._keys.scan(consistent_read=True)]

    def apply(self, transitions: Sequence[KeyTransition], events: Sequence["EventEnvelope"] = ()) -> None:
        outbox = outbox_for(self._outbox, events)
        try:
            with TransactWrite(connection=self._connection) as transaction:
                if outbox is not None:
                    outbox.add_to(transaction, events)
                for transition in transitions:
                    condition = (
                        self._keys.kid.does_not_exist()
                        if transition.expected is None
                        else self._keys.state == transition.expected.value
                    )
                    transaction.save(self._item(transition.key), condition=condition)
        except TransactWriteError as exc:
            if CANCELLED_CONDITION in cancellation_codes(exc):
                raise Conflict("signing key state changed concurrently") from exc
            raise IdentityStoreUnavailable("signing key store failed") from exc

    def _item(self, key: SigningKey) -> SigningKeyItem:
        return self._keys(
            key.kid,
            key_ref=key.key_ref,
            state=key.state.value,
            public_jwk=json.dumps(key.public_jwk),
            created_at=key.created_at,
            activated_at=key.activated_at,
            retire_after=key.retire_after,
            retired_at=key.retired_at,
        )


def _to_signing_key(item: SigningKeyItem) -> SigningKey:
    def optional(value: float | None) -> int | None:
        return None if value is None else int(value)

    return SigningKey(
        kid=item.kid,
        key_ref=item.key_ref,
        state=KeyState(item.state),
        public_jwk=json.loads(item.public_jwk),
        created_at=int(item.created_at),
        activated_at=optional(item.activated_at),
        retire_after=optional(item.retire_after),
        retired_at=optional(item.retired_at),
    )
