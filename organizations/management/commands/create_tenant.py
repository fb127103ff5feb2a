"""Create a tenant and its owner in one step: the operator's way in when sign-up is closed."""

from __future__ import annotations

import getpass
import secrets
import sys

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import translation

from organizations.members import tenant_create_with_owner


class Command(BaseCommand):
    help = (
        "Create a tenant with its root org unit and its owner. The owner's password is taken "
        "from --owner-password, asked for on a terminal, or generated and printed once "
        "(--generate-password, or when there is no terminal). An existing account with that "
        "email becomes the owner and keeps its password."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", required=True, help="the tenant's URL name: /t/<slug>/")
        parser.add_argument("--name", required=True, help="the organisation's display name")
        parser.add_argument("--owner-email", required=True, help="the owner's email = username")
        parser.add_argument("--owner-name", default="", help="the owner's display name")
        parser.add_argument("--owner-password", default=None)
        parser.add_argument(
            "--generate-password",
            action="store_true",
            help="generate the owner's password and print it once",
        )

    def handle(self, *args, slug: str, name: str, owner_email: str, **options) -> None:
        password = options["owner_password"]
        generated = False
        if password is None:
            if options["generate_password"] or not sys.stdin.isatty():
                password, generated = secrets.token_urlsafe(12), True
            else:
                password = getpass.getpass("Owner password: ")
                if password != getpass.getpass("Owner password (again): "):
                    raise CommandError("The two passwords differ.")
        # The operator's language is the site's, not whatever a previous caller left active.
        with translation.override(settings.LANGUAGE_CODE):
            try:
                tenant = tenant_create_with_owner(
                    slug=slug,
                    name=name,
                    owner_email=owner_email,
                    owner_password=password,
                    owner_name=options["owner_name"],
                    existing_owner_allowed=True,
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        start = settings.CEM_PUBLIC_BASE_URL.rstrip("/") + reverse(
            "onboarding", kwargs={"tenant_slug": tenant.slug}
        )
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} ({tenant.name})."))
        self.stdout.write(f"Owner: {owner_email.strip().lower()}")
        if generated:
            self.stdout.write(f"Owner password (shown once): {password}")
        self.stdout.write(f"Sign in and start at: {start}")
