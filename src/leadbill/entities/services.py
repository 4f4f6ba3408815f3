"""Writes to entities, and the gapless number allocation."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from leadbill.entities.models import Entity, NumberSeries

INVOICE_SERIES = "invoice"
CREDIT_NOTE_SERIES = "credit_note"


def ensure_series(entity: Entity) -> None:
    """Create the entity's invoice and credit-note series if missing; prefixes follow the entity."""
    for series, prefix in (
        (INVOICE_SERIES, entity.invoice_prefix),
        (CREDIT_NOTE_SERIES, entity.credit_note_prefix or f"{entity.invoice_prefix}CN-"),
    ):
        row, created = NumberSeries.objects.get_or_create(entity=entity, series=series, defaults={"prefix": prefix})
        if not created and row.prefix != prefix:
            row.prefix = prefix
            row.save(update_fields=["prefix"])


def allocate_numbers(entity_id: int, series: str, count: int = 1) -> tuple[str, int]:
    """Reserve `count` consecutive numbers; returns (prefix, first sequence).

    Must run inside the issuing transaction: the row lock taken by the UPDATE is held
    until it commits, so a concurrent run waits, and a rollback returns the numbers
    (no gap). Numbers are never computed as max()+1.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers are allocated inside the issuing transaction")
    updated = NumberSeries.objects.filter(entity_id=entity_id, series=series).update(
        next_number=F("next_number") + count
    )
    if updated != 1:
        raise LookupError(f"entity {entity_id} has no number series {series!r}")
    row = NumberSeries.objects.get(entity_id=entity_id, series=series)
    return row.prefix, row.next_number - count


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence:06d}"


def entity_documents_set(*, actor: str, entity: Entity, logo: tuple[bytes, str] | None, footer: str) -> Entity:
    """Change the logo (checked bytes and media type) and footer printed on new documents."""
    from leadbill.audit.services import audit_record
    from leadbill.documents.assets import asset_store
    from leadbill.domain.text import field_text

    footer = field_text(footer, field="footer", max_length=500, multiline=True)
    with transaction.atomic():
        entity = Entity.objects.select_for_update().get(pk=entity.pk)
        changed: dict[str, object] = {}
        if logo is not None:
            sha = asset_store(*logo)
            if sha != entity.logo_sha256:
                changed["logo_sha256"] = sha
        if footer != entity.invoice_footer:
            changed["invoice_footer"] = footer
        if changed:
            for key, value in changed.items():
                setattr(entity, key, value)
            entity.save(update_fields=list(changed))
            audit_record(actor=actor, action="entity.documents_changed", obj=entity, entity=entity, **changed)
    return entity


def payment_details(entity: Entity) -> dict[str, object]:
    """How the entity is paid, for the seller snapshot of a document (STYLE 11).

    `payment_accounts`: one account per currency as stored (checked where it entered); with none
    given, the entity's iban/bic are the account for its own currency. `remit_to`: the postal
    remit-to address, free lines. Documents pick the account in their own currency from this.
    """
    accounts = [dict(a) for a in entity.payment_accounts or []]
    if not accounts and entity.iban:
        accounts = [{"currency": entity.currency, "iban": entity.iban, **({"bic": entity.bic} if entity.bic else {})}]
    return {"payment_accounts": accounts, "remit_to": entity.remit_to}


def entity_details_set(*, actor: str, entity: Entity, details: dict[str, object]) -> tuple[str, ...]:
    """Change some of the entity's details (address, tax id, bank, mail sender, wording, credit on account);
    returns what changed.

    `details` is what one console form sent, in the set-up file's shape: it is read by the
    set-up file's own rules (`loader.schema.read_entity_details`, SetupFileError naming every
    bad field), and only the keys it holds are written, so a form never resets what it does not
    show. One audit row with each changed field as [before, after], as the loader records it.
    """
    from leadbill.audit.services import audit_record
    from leadbill.loader.schema import read_entity_details

    values = read_entity_details(details, country=entity.country)
    with transaction.atomic():
        locked = Entity.objects.select_for_update().get(pk=entity.pk)
        changed = {name: [getattr(locked, name), value] for name, value in values.items()
                   if getattr(locked, name) != value}  # fmt: skip
        if changed:
            for name, (_, value) in changed.items():
                setattr(locked, name, value)
            locked.save(update_fields=list(changed))
            audit_record(actor=actor, action="entity.details_changed", obj=locked, entity=locked, changed=changed)
            if changed.get("credit_on_account", [None, None])[1] == "automatic":
                from leadbill.receivables.services import credit_spend_on_switch

                credit_spend_on_switch(actor=actor, entity=locked)
    for name, (_, value) in changed.items():
        setattr(entity, name, value)
    return tuple(changed)
