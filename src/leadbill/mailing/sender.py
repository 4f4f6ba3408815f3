"""Who an email is from: the entity's sender name and address, else its legal name and the server's address.

Partners see mail from the business they deal with ("Acme Leads LLC <billing@acme.example>"),
never from "Leadbill". An explicit sender in the entity's mail settings (Automation → Email)
still wins: it was typed as a whole address on purpose.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings


def server_address() -> str:
    """The address part of DEFAULT_FROM_EMAIL ("billing@localhost" of "Leadbill <billing@localhost>")."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL


def entity_sender(entity: Any, override: str = "") -> str:
    """The From header of the entity's mail: `override` (mail settings) if set, else name <address>."""
    if override:
        return override
    name = entity.mail_from_name or entity.legal_name
    address = entity.mail_from_address or server_address()
    user, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=user, domain=domain))
