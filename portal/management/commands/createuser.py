"""Bootstrap a deployment from scripts: user, organization and membership, and optionally an API token."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import services
from portal.models.tenancy import validate_roles


class Command(BaseCommand):
    help = (
        "Create what is missing (user, organization, membership); with --token print a read-write API token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--password", help="Set (or reset) the password; omit for a user without one.")
        parser.add_argument("--org", required=True, help="Organization slug; created if missing.")
        parser.add_argument(
            "--roles", default="admin", help="Comma separated: admin,operator,analyst,analyst_reader"
        )
        parser.add_argument("--token", action="store_true", help="Print a new read-write API token last.")

    def handle(self, *args: Any, **options: Any) -> None:
        roles = [r.strip() for r in options["roles"].split(",") if r.strip()]
        try:
            validate_roles(roles)
            user, organization = services.user_bootstrap(
                email=options["email"], password=options["password"], org_slug=options["org"], roles=roles
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"{user.email} is {', '.join(roles)} in {organization.slug}")
        if options["token"]:
            _, raw = services.api_token_create(
                organization=organization, user=user, name="createuser", read_only=False
            )
            self.stdout.write(raw)
