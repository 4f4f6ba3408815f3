"""Content-addressed images (logos) the documents print."""

from __future__ import annotations

import hashlib

from leadbill.documents.logos import logo_check
from leadbill.documents.models import Asset
from leadbill.domain.errors import DomainError


def asset_store(content: bytes, media_type: str) -> str:
    """Keep the bytes under their SHA-256 and return it; storing the same bytes twice is a no-op.

    Every logo is stored here, so every logo passes `logo_check` here, whichever way it came
    (set-up file, portal, console, a service called directly): DomainError when it fails,
    or when the bytes are not of `media_type`.

    Not audited on its own: an asset means nothing until an entity or partner points at
    it, and that change is audited where it happens.
    """
    checked = logo_check(content, "the logo")
    if checked.media_type != media_type:
        raise DomainError(f"the logo is {checked.media_type}, not {media_type}")
    sha = hashlib.sha256(content).hexdigest()
    Asset.objects.get_or_create(sha256=sha, defaults={"media_type": media_type, "content": content})
    return sha


def asset_bytes(sha256: str) -> tuple[bytes, str] | None:
    row = Asset.objects.filter(sha256=sha256).values_list("content", "media_type").first()
    return None if row is None else (bytes(row[0]), row[1])
