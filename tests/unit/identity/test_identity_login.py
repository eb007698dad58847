"""Login logic over in-memory fakes: the authorization request, sign-in with lockout driven by a
fake clock, the dummy hash, CSRF bound to the pre-login cookie, registration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from echo_shared.identity.attempts import (
    ACCOUNT_POLICY,
    ACCOUNT_SOURCE_POLICY,
    SOURCE_POLICY,
    account_key,
    account_source_key,
    source_key,
)
from echo_shared.identity.grants import handle_digest
from echo_shared.identity.users import UserStatus
from echo_shared.identity.web import RequestInfo
from login.logic.authentication import (
    RegistrationRefused,
    SignInFailed,
    TemporarilyLocked,
    register,
    sign_in,
)
from login.logic.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    issue_code,
    session_satisfies,
    validate_request,
    with_query,
)
from login.logic.browser import csrf_matches, current_transaction, start_session, start_transaction

from tests.unit.identity.fakes import (
    ISSUER,
    PASSWORD,
    PUBLIC_CLIENT_ID,
    REDIRECT_URI,
    LoginWorld,
    login_world,
)

REQUEST = RequestInfo(request_id="req-1", source_ip="203.0.113.9")


@pytest.fixture
def world() -> LoginWorld:
    return login_world()


def params(**overrides: str | None) -> dict[str, list[str]]:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": PUBLIC_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "xyz",
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: [value] for name, value in values.items() if value is not None}


def test_a_valid_request_is_accepted(world: LoginWorld) -> None:
    client, request = validate_request(world.service, params(nonce="n1", prompt="login", max_age="60"))
    assert client.client_id == PUBLIC_CLIENT_ID
    assert (request.scope, request.nonce, request.prompt, request.max_age) == (
        ("openid", "email"),
        "n1",
        "login",
        60,
    )


@pytest.mark.parametrize(
    "redirect_uri", [REDIRECT_URI + "/", REDIRECT_URI.upper(), REDIRECT_URI + "?a=b", REDIRECT_URI[:-1], ""]
)
def test_redirect_uris_match_exactly_or_the_user_sees_a_page(world: LoginWorld, redirect_uri: str) -> None:
    with pytest.raises(AuthorizationPageError):
        validate_request(world.service, params(redirect_uri=redirect_uri))


def test_plain_pkce_is_refused_and_redirected_with_state(world: LoginWorld) -> None:
    with pytest.raises(AuthorizationRedirectError) as refused:
        validate_request(world.service, params(code_challenge_method="plain", code_challenge="v" * 43))
    assert refused.value.error == "invalid_request"
    location = refused.value.location(ISSUER)
    assert location.startswith(REDIRECT_URI + "?error=invalid_request")
    assert "state=xyz" in location
    assert f"iss={ISSUER.replace(':', '%3A').replace('/', '%2F')}" in location


def test_repeated_parameters_are_refused(world: LoginWorld) -> None:
    repeated = params()
    repeated["scope"] = ["openid", "openid email"]
    with pytest.raises(AuthorizationRedirectError, match="repeated"):
        validate_request(world.service, repeated)


def test_a_client_without_the_code_grant_is_unauthorized(world: LoginWorld) -> None:
    from tests.unit.identity.fakes import public_client

    world.service.clients.put(public_client(grant_types=frozenset()))
    with pytest.raises(AuthorizationRedirectError) as refused:
        validate_request(world.service, params())
    assert refused.value.error == "unauthorized_client"


def test_codes_are_stored_hashed_single_use_and_expire_within_sixty_seconds(world: LoginWorld) -> None:
    _, request = validate_request(world.service, params(nonce="n1"))
    user = world.users.get("demo", "usr_alice")
    assert user is not None
    location = issue_code(world.service, request, user, auth_time=world.clock.epoch)
    code = location.split("code=")[1].split("&")[0]
    stored, _ = world.grants.codes[handle_digest(code)]
    assert code not in str(world.grants.codes)
    assert stored.expires_at - world.clock.epoch == 60
    assert "iss=" in location
    assert "state=xyz" in location


def test_with_query_keeps_a_registered_query() -> None:
    assert (
        with_query("https://rp.example/cb?x=1", {"code": "c", "state": None})
        == "https://rp.example/cb?x=1&code=c"
    )


def test_max_age_and_prompt_login_decide_whether_the_session_answers(world: LoginWorld) -> None:
    user = world.users.get("demo", "usr_alice")
    assert user is not None
    _, session = start_session(world.service, user, replacing=None)
    client, fresh = validate_request(world.service, params(max_age="300"))
    assert session_satisfies(world.service, session, client, fresh)
    world.clock.advance(301)
    assert not session_satisfies(world.service, session, client, fresh)
    _, forced = validate_request(world.service, params(prompt="login"))
    assert not session_satisfies(world.service, session, client, forced)


def test_sign_in_succeeds_resets_only_its_own_key_and_publishes(world: LoginWorld) -> None:
    # Given one failure from the user's network and one from a stranger's
    stranger = RequestInfo(request_id="req-x", source_ip="203.0.113.66")
    for request in (REQUEST, stranger):
        with pytest.raises(SignInFailed):
            sign_in(
                world.service, tenant="demo", email="alice@example.com", password="nope " * 3, request=request
            )
    # When the user signs in from their network
    user = sign_in(
        world.service, tenant="demo", email=" Alice@Example.com ", password=PASSWORD, request=REQUEST
    )
    # Then their own key is gone, the stranger's stays, and the global count keeps both failures
    assert user.user_id == "usr_alice"
    assert world.attempts.get(account_source_key("demo", "alice@example.com", REQUEST.source_ip)) is None
    theirs = world.attempts.get(account_source_key("demo", "alice@example.com", stranger.source_ip))
    assert theirs is not None
    assert theirs.attempts == 1
    account = world.attempts.get(account_key("demo", "alice@example.com"))
    assert account is not None
    assert account.attempts == 2
    source = world.attempts.get(source_key(REQUEST.source_ip))
    assert source is not None
    assert source.attempts == 1
    assert world.event_types()[-1] == "user.logged_in"


def test_unknown_users_cost_a_dummy_verification_and_get_the_same_error(world: LoginWorld) -> None:
    # When an unknown email and a wrong password are tried
    with pytest.raises(SignInFailed) as unknown:
        sign_in(world.service, tenant="demo", email="nobody@example.com", password=PASSWORD, request=REQUEST)
    with pytest.raises(SignInFailed) as wrong:
        sign_in(
            world.service,
            tenant="demo",
            email="alice@example.com",
            password="wrong password!",
            request=REQUEST,
        )
    # Then both run one argon2 verification (dummy for the unknown user) and read the same
    assert (world.hasher.dummy, world.hasher.real) == (1, 1)
    assert str(unknown.value) == str(wrong.value) == "Incorrect email or password."
    failed = [e for e in world.published.published if e.type == "user.login_failed"]
    assert [e.data["reason"] for e in failed] == ["unknown_user", "wrong_password"]
    assert all(PASSWORD not in e.to_json() and "nobody@" not in e.to_json() for e in failed)


def test_a_disabled_user_gets_the_generic_error_even_with_the_right_password(world: LoginWorld) -> None:
    world.users.set_status("demo", "usr_alice", UserStatus.DISABLED, now=0)
    with pytest.raises(SignInFailed):
        sign_in(world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST)


def _fail(world: LoginWorld, *, email: str = "alice@example.com", request: RequestInfo = REQUEST) -> None:
    with pytest.raises(SignInFailed):
        sign_in(world.service, tenant="demo", email=email, password="nope nope nope", request=request)


def test_the_attempt_is_counted_before_the_password_is_checked(world: LoginWorld) -> None:
    # Given the account+source budget spent (5 attempts in its 15-minute window)
    for _ in range(ACCOUNT_SOURCE_POLICY.limit):
        _fail(world)
    assert world.event_types().count("user.locked_out") == 1
    # Then even the right password is refused until the window ends, without a verification
    verifications = world.hasher.real
    world.clock.advance(100)
    with pytest.raises(TemporarilyLocked) as locked:
        sign_in(world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST)
    assert locked.value.retry_after == ACCOUNT_SOURCE_POLICY.window_seconds - 100
    assert world.hasher.real == verifications
    # And a refused attempt takes nothing from the wider budgets
    account = world.attempts.get(account_key("demo", "alice@example.com"))
    assert account is not None
    assert account.attempts == ACCOUNT_SOURCE_POLICY.limit
    # When the window ends, the right password works again
    world.clock.advance(ACCOUNT_SOURCE_POLICY.window_seconds - 100)
    assert sign_in(
        world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST
    )


def test_a_stranger_cannot_lock_the_user_out_of_their_own_network(world: LoginWorld) -> None:
    # Given a stranger who spent their whole budget on alice's account
    stranger = RequestInfo(request_id="req-x", source_ip="203.0.113.66")
    for _ in range(ACCOUNT_SOURCE_POLICY.limit):
        _fail(world, request=stranger)
    with pytest.raises(TemporarilyLocked):
        sign_in(world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=stranger)
    # Then alice, from her network, signs in
    assert sign_in(
        world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST
    )


def test_many_sources_hit_the_slower_global_account_cap(world: LoginWorld) -> None:
    # Given failures from many sources, each within its own account+source budget
    sources = [RequestInfo(request_id=f"req-{n}", source_ip=f"198.51.100.{n}") for n in range(10)]
    for n in range(ACCOUNT_POLICY.limit):
        _fail(world, request=sources[n % len(sources)])
    assert world.event_types().count("user.locked_out") == 1
    # Then the account is locked from every source, its own network included, for the global window
    for request in (REQUEST, sources[0]):
        with pytest.raises(TemporarilyLocked) as locked:
            sign_in(
                world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=request
            )
        assert locked.value.retry_after == ACCOUNT_POLICY.window_seconds
    world.clock.advance(ACCOUNT_POLICY.window_seconds)
    assert sign_in(
        world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST
    )


def test_successes_do_not_use_up_the_global_budgets(world: LoginWorld) -> None:
    for _ in range(max(ACCOUNT_POLICY.limit, SOURCE_POLICY.limit) + 1):
        assert sign_in(
            world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST
        )
    account = world.attempts.get(account_key("demo", "alice@example.com"))
    assert account is not None
    assert account.attempts == 0


def test_unknown_emails_lock_out_exactly_like_real_ones(world: LoginWorld) -> None:
    for _ in range(ACCOUNT_SOURCE_POLICY.limit):
        _fail(world, email="ghost@example.com")
    with pytest.raises(TemporarilyLocked):
        sign_in(world.service, tenant="demo", email="ghost@example.com", password="x" * 12, request=REQUEST)


def test_one_source_ip_spraying_many_accounts_is_locked_out(world: LoginWorld) -> None:
    for n in range(SOURCE_POLICY.limit):
        _fail(world, email=f"user{n}@example.com")
    with pytest.raises(TemporarilyLocked):
        sign_in(world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=REQUEST)
    other_ip = RequestInfo(request_id="req-2", source_ip="198.51.100.1")
    assert sign_in(
        world.service, tenant="demo", email="alice@example.com", password=PASSWORD, request=other_ip
    )


def test_parallel_wrong_guesses_check_at_most_the_budget(world: LoginWorld) -> None:
    # When 40 wrong guesses run at once (threads over the same store)
    def guess(_: int) -> str:
        try:
            sign_in(
                world.service, tenant="demo", email="alice@example.com", password="nope " * 3, request=REQUEST
            )
        except SignInFailed:
            return "failed"
        except TemporarilyLocked:
            return "locked"
        return "signed_in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(40)))
    # Then exactly the budget's worth of passwords was checked
    assert outcomes.count("failed") == ACCOUNT_SOURCE_POLICY.limit
    assert outcomes.count("locked") == 40 - ACCOUNT_SOURCE_POLICY.limit
    assert world.hasher.real == ACCOUNT_SOURCE_POLICY.limit


def test_the_csrf_token_is_bound_to_its_own_pre_login_cookie(world: LoginWorld) -> None:
    # Given two pre-login transactions (two browsers)
    mine, my_transaction = start_transaction(world.service, tenant="demo", request=None)
    theirs, their_transaction = start_transaction(world.service, tenant="demo", request=None)
    # Then each cookie accepts only its own token, and an expired transaction accepts none
    assert csrf_matches(current_transaction(world.service, mine), my_transaction.csrf_token)
    assert not csrf_matches(current_transaction(world.service, mine), their_transaction.csrf_token)
    assert not csrf_matches(current_transaction(world.service, theirs), "")
    assert not csrf_matches(current_transaction(world.service, "forged-cookie"), my_transaction.csrf_token)
    world.clock.advance(900)
    assert current_transaction(world.service, mine) is None
    # And only digests of the cookie values are stored
    assert mine not in str(world.grants.transactions)


def test_registration_normalizes_applies_the_policy_and_refuses_duplicates(world: LoginWorld) -> None:
    with pytest.raises(RegistrationRefused, match="breaches"):
        register(
            world.service, tenant="demo", email="bob@example.com", password="password1234", request=REQUEST
        )
    user = register(
        world.service,
        tenant="demo",
        email="Bob@Example.com",
        password="violet tram under bridge",
        request=REQUEST,
    )
    assert user.email == "bob@example.com"
    assert user.role_names == ("guest",)
    with pytest.raises(RegistrationRefused, match="already exists"):
        register(
            world.service,
            tenant="demo",
            email="BOB@example.com",
            password="another fine passphrase",
            request=REQUEST,
        )
    assert world.event_types() == ["user.registered", "notification.email_verification"]
