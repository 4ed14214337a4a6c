"""The first run of `make run`: create an admin once and print how to sign in."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from portal import services
from portal.roles import Role


class Command(BaseCommand):
    help = "Create a first admin (admin@localhost in organization 'default') if there are no users yet."

    def handle(self, *args: Any, **options: Any) -> None:
        if get_user_model().objects.exists():
            return
        password = secrets.token_urlsafe(12)
        user, _ = services.user_bootstrap(
            email="admin@localhost.localdomain", password=password, org_slug="default", roles=[Role.ADMIN]
        )
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(
            f"First admin created: {user.email} / {password}  (shown once; change it after signing in)"
        )
