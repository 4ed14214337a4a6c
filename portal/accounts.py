"""Sign-up creates the new user's own organization, so a person can start at once."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from portal import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            name = f"{user.email.split('@')[0]}'s organization"
            services.organization_create(name=name, owner=user)
        return user
