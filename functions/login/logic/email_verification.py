"""Email verification: a link sent at registration (through a notification event on the bus), and
its redemption, which marks the email verified and applies the verified-email rule."""

import hmac

from echo_shared.authz.caller import user_actor
from echo_shared.identity.email_verification import (
    email_digest,
    issue_verification,
    promotion_for,
    redeem_verification,
)
from echo_shared.identity.errors import VerificationTokenInvalid
from echo_shared.identity.events import SYSTEM, IdentityEvent
from echo_shared.identity.users import User

from login.logic import LoginService


def send_verification(service: LoginService, user: User, *, request_id: str) -> None:
    """Store the token's digest and hand the link to the mailer as a `notification.*` event. Those
    events carry an address and a live link, so no log and no audit subscription receives them
    (stacks/event_bus.py); only the notifications queue (the outbox) does."""
    issued = issue_verification(
        user, issuer_url=service.issuer_url, now=service.now(), ttl=service.verification_ttl
    )
    notification = service.events.build(
        IdentityEvent.EMAIL_VERIFICATION_REQUESTED,
        tenant=user.tenant,
        actor=SYSTEM,
        resource=f"user/{user.user_id}",
        request_id=request_id,
        data={"to": user.email, "link": issued.link, "expires_at": issued.record.expires_at},
    )
    service.verifications.put_verification(issued.record, events=[notification])


def verify_email(service: LoginService, token: str, *, request_id: str) -> User:
    now = service.now()
    record = redeem_verification(service.verifications, token, now=now)
    user = service.users.get(record.tenant, record.user_id)
    # A link sent to an address the account no longer has (or a gone account) verifies nothing.
    if (
        user is None
        or not user.is_active
        or not hmac.compare_digest(email_digest(user.email), record.email_digest)
    ):
        raise VerificationTokenInvalid("this verification link is not valid")
    promoted = promotion_for(user, service.member_domains)
    verified = service.events.build(
        IdentityEvent.USER_EMAIL_VERIFIED,
        tenant=user.tenant,
        actor=user_actor(user.user_id),
        resource=f"user/{user.user_id}",
        request_id=request_id,
        data={
            "roles": [role.value for role in promoted] if promoted is not None else list(user.role_names),
            "promoted": promoted is not None,
        },
    )
    # The event goes with the last change it reports: the promotion if there is one.
    user = service.users.mark_email_verified(
        user.tenant, user.user_id, now=now, events=[] if promoted is not None else [verified]
    )
    if promoted is not None:
        user = service.users.set_roles(user.tenant, user.user_id, promoted, now=now, events=[verified])
    return user
