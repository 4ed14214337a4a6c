"""Users and memberships from the identity provider's claims (spec/control-plane.md §6.3, done per organization).

A provider subject is linked to one user the first time it signs in: an existing user only when the provider
has verified the email address *and* that user has verified it here too (allauth's EmailAddress), otherwise a
new user. Matching on the address alone would hand the provider's identity, and the roles its groups give, to
whoever signed up locally with that address first without ever proving it. From then on the link (issuer +
subject) finds them, whatever their email becomes. The groups in the roles claim are mapped through each
organization's GroupMapping rows that support staff approved for it (see GroupMapping), and the result is
re-applied at every sign-in (and API call): memberships granted by single sign-on follow the groups;
memberships given in the portal are left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import services
from portal.models import ExternalIdentity, GroupMapping, Membership
from portal.roles import Role

log = logging.getLogger(__name__)


class SignInRefused(Exception):
    """The provider vouched for someone we must not let in; the message is shown to them."""


def claim_groups(claims: dict[str, Any], path: str | None = None) -> list[str] | None:
    """The group names at `path`: a claim name (`cognito:groups`, a URL) or a dotted path (`realm_access.roles`).

    None when the claim is absent altogether (Cognito omits it for a user in no group).
    """
    path = path or settings.OIDC_ROLES_CLAIM
    value: Any = claims.get(path)
    if value is None:
        value = claims
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")  # the original's comma-separated form
    if not isinstance(value, list):
        return []
    return sorted({str(v).strip() for v in value if isinstance(v, str | int) and str(v).strip()})


def email_is_verified(claims: dict[str, Any]) -> bool:
    # Cognito sends the flag as the string "true" in some tokens.
    return claims.get("email_verified") in (True, "true", "True")


@transaction.atomic
def sso_user_resolve(*, claims: dict[str, Any]) -> tuple[Any, bool]:
    """The user for these verified claims, linking (or creating) them on a first sign-in.

    The flag says whether this sign-in linked the identity to an existing account that has a password: the
    person is told, and that account's other sessions are ended (they may not all be theirs).
    """
    issuer, subject = settings.OIDC_ISSUER, str(claims.get("sub", ""))
    if not subject:
        raise SignInRefused("The identity provider did not say who you are (no subject).")
    identity = ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is not None:
        return identity.user, False
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise SignInRefused("The identity provider sent no email address for your account.")
    if not email_is_verified(claims):
        raise SignInRefused(
            f"The identity provider has not verified the email address {email}; verify it there first."
        )
    matches = list(get_user_model().objects.filter(pk__in=_verified_owners(email))[:2])
    if len(matches) > 1:
        raise SignInRefused("Several accounts use this email address; ask an administrator to merge them.")
    try:
        with transaction.atomic():  # two first requests at once (API calls) may race to link the subject
            user = matches[0] if matches else _user_create(email=email)
            ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        identity = (
            ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        )
        if identity is None:
            raise SignInRefused("Your account could not be created here; ask an administrator.") from None
        return identity.user, False
    linked_password_account = bool(matches) and user.has_usable_password()
    if linked_password_account:
        _sessions_end(user=user)
    return user, linked_password_account


def _verified_owners(email: str) -> Any:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id")


def _user_create(*, email: str) -> Any:
    """A user who signs in through the provider only; the provider has verified their address."""
    from allauth.account.adapter import get_adapter
    from allauth.account.models import EmailAddress

    username = get_adapter().generate_unique_username([email, email.split("@")[0], "user"])
    user = get_user_model()(username=username, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    # Someone else's unproven claim to this address (a local sign-up never verified) can no longer be verified.
    EmailAddress.objects.filter(email__iexact=email, verified=False).exclude(user=user).delete()
    services._mark_email_verified(user)
    return user


def _sessions_end(*, user: Any) -> None:
    """End every signed-in session of `user`; the sign-in under way starts a new one."""
    from allauth.usersessions.adapter import get_adapter
    from allauth.usersessions.models import UserSession

    get_adapter().end_sessions(list(UserSession.objects.filter(user=user)))


@transaction.atomic
def sso_memberships_apply(*, user: Any, groups: list[str]) -> list[Membership]:
    """Give `user` the roles their groups map to in each organization; withdraw what their groups no longer give."""
    wanted: dict[int, set[str]] = {}
    for mapping in GroupMapping.objects.unscoped().filter(group__in=groups, approved=True):
        wanted.setdefault(mapping.organization_id, set()).update(mapping.roles)
    current = {
        m.organization_id: m for m in Membership.objects.filter(user=user).select_related("organization")
    }
    for org_id, roles in wanted.items():
        membership = current.get(org_id)
        if membership is not None and not membership.from_sso:
            continue  # given in the portal: an explicit assignment wins over the provider's groups
        ordered = [r for r in Role.values if r in roles]
        if membership is None:
            current[org_id] = Membership.objects.create(
                user=user, organization_id=org_id, roles=ordered, from_sso=True
            )
        elif membership.roles != ordered:
            _roles_change(membership, ordered)
    for org_id, membership in list(current.items()):
        if membership.from_sso and org_id not in wanted and _roles_change(membership, None):
            del current[org_id]
    return list(current.values())


def _roles_change(membership: Membership, roles: list[str] | None) -> bool:
    """Set new roles (None: remove), keeping the organization's last admin; True when it was applied."""
    try:
        services.last_admin_guard(membership=membership, new_roles=roles)
    except ValidationError:
        log.warning(
            "Kept %s as the last admin of %s despite their groups.", membership.user, membership.organization
        )
        return False
    if roles is None:
        membership.delete()
    else:
        membership.roles = roles
        membership.save(update_fields=["roles", "updated"])
    return True


def sso_sign_in(*, claims: dict[str, Any], absent_claim_means_no_groups: bool = True) -> tuple[Any, bool]:
    """Resolve the user, re-apply their group mappings and remember the groups received.

    Returns the user, and whether this sign-in linked the identity to an account with a password.

    At sign-in a missing roles claim means no groups; an API access token without the claim (many providers
    put groups in the ID token only) leaves the memberships as the last sign-in set them.
    """
    user, linked_password_account = sso_user_resolve(claims=claims)
    if not user.is_active:
        raise SignInRefused("Your account here is deactivated; ask an administrator.")
    groups = claim_groups(claims)
    if groups is None and absent_claim_means_no_groups:
        groups = []
    if groups is not None:
        sso_memberships_apply(user=user, groups=groups)
        ExternalIdentity.objects.filter(issuer=settings.OIDC_ISSUER, subject=str(claims["sub"])).update(
            groups=groups, last_login=timezone.now()
        )
    return user, linked_password_account
