"""Personal API tokens: shown once, stored as a hash, bound to one organization, read-only or read-write."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from portal.models.scoping import OrganizationOwned

TOKEN_PREFIX = "cst_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(OrganizationOwned):
    """A bearer token a person created for scripts and integrations; only its SHA-256 digest is stored."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="The first characters, to recognise it.")
    read_only = models.BooleanField(default=True, help_text="Read-only tokens may only make GET requests.")
    expires = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a token that never expires."
    )
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    def clean(self) -> None:
        """A new token that has already expired would be refused at its first use: say so now instead.
        (Only on creation: an old token past its date may still be renamed in the admin.)"""
        if self._state.adding and self.is_expired:
            raise ValidationError(
                {"expires": "This moment has already passed: choose a future one, or leave it empty."}
            )

    @property
    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()

    def set_new_secret(self) -> str:
        """Give the token a fresh secret and return it; the caller shows it once, we keep only the hash."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.digest = hash_token(raw)
        self.hint = raw[:10]
        return raw
