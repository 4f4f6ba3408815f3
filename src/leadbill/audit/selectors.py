"""The audit trail as people read it: names instead of ids, money with its currency, before → after.

Audit rows keep what the write knew (`partner: "acme"`, `amount_minor: 1250`,
`changed: {"city": ["Berlin", "Hamburg"]}`); this module turns a page of them into lines a
finance team can read, without touching what was recorded. Names are looked up for the whole
page at once: one query per kind of object on the page (invoices, partners, staff, ...), never
one per row, so the page's query count does not grow with its rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from leadbill.audit.models import AuditEvent
from leadbill.documents.formatting import Formatter
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice
from leadbill.partners.models import Partner

LONG = 80  # characters: a longer value shows its start, the whole of it one click away
HIDDEN = frozenset({"via"})  # bookkeeping of how a write came in, said by the actor already
LABELS = {"address_line1": "address line 1", "address_line2": "address line 2", "tax_id": "tax id", "iban": "IBAN",
          "bic": "BIC", "mail_from_name": "sender name", "mail_from_address": "sender address",
          "invitation_text": "invitation text", "logo_sha256": "logo", "invoice_footer": "footer",
          "send": "email", "to": "to", "corrects": "corrects", "number": "number"}  # fmt: skip


KIND_WORDS = {"web.partneruser": "portal user", "catalog.priceplan": "price plan", "deliveries.return": "return",
              "invoicing.invoicerun": "invoice run", "mailing.emailsend": "email", "mailing.mailsettings": "email settings",
              "scheduling.schedule": "schedule", "payouts.payout": "payout", "payouts.selfbilleddocument": "self-invoice",
              "selfbilling.selfbilleddocument": "self-invoice", "selfbilling.agreement": "self-billing agreement",
              "selfbilling.sellerprofile": "supplier details",
              # rows written before self-billing had its own app (issue 21) name the models' old app
              "payouts.agreement": "self-billing agreement", "payouts.sellerprofile": "supplier details",
              "invoicing.adjustment": "adjustment", "invoicing.ledgerentry": "prepay entry", "api.apikey": "API key",
              "webhooks.endpoint": "webhook endpoint", "receivables.entry": "ledger entry"}  # fmt: skip
PAGES = {"invoicing.invoicerun": "console:run", "payouts.payout": "console:payout"}  # object type -> its console page


@dataclass(frozen=True)
class Value:
    """One value as shown: `short` in the row, `full` on expand when it had to be cut."""

    short: str
    full: str = ""


@dataclass(frozen=True)
class Change:
    label: str
    before: Value
    after: Value


@dataclass(frozen=True)
class Detail:
    label: str
    value: Value


@dataclass
class Line:
    event: AuditEvent
    at: datetime
    actor: str
    action: str
    subject: str
    subject_url: str = ""
    changes: list[Change] = field(default_factory=list)
    details: list[Detail] = field(default_factory=list)


def _label(key: str) -> str:
    name = key.removesuffix("_minor").removesuffix("_micros").removesuffix("_bp").removesuffix("_id")
    return LABELS.get(key, LABELS.get(name, name.replace("_", " ")))


def _cut(text: str) -> Value:
    return Value(text[: LONG - 1] + "…", text) if len(text) > LONG else Value(text)


@dataclass
class _Names:
    """What the page's rows refer to, looked up once per kind."""

    entity: Entity
    invoices: dict[int, Invoice]
    partners_by_id: dict[int, Partner]
    partners_by_code: dict[str, Partner]
    users: dict[int, str]
    objects: dict[tuple[str, str], tuple[str, str]]  # (type, id) -> (name, url)


class Reader:
    """Formats the values of one page of audit rows of one entity."""

    def __init__(self, entity: Entity, rows: list[AuditEvent]) -> None:
        self.entity = entity
        self.names = self._lookup(rows)
        self._formatters: dict[str, Formatter] = {}

    # --- lookups, one query per kind --------------------------------------------------------

    def _lookup(self, rows: list[AuditEvent]) -> _Names:
        ids: dict[str, set[str]] = {}
        codes: set[str] = set()
        partner_ids: set[int] = set()
        user_ids: set[int] = set()
        for row in rows:
            ids.setdefault(row.object_type, set()).add(row.object_id)
            data = row.data if isinstance(row.data, dict) else {}
            if isinstance(data.get("partner"), str):
                codes.add(data["partner"])
            if isinstance(data.get("partner_id"), int):
                partner_ids.add(data["partner_id"])
            if isinstance(data.get("user_id"), int):
                user_ids.add(data["user_id"])
            if isinstance(data.get("invoice_id"), int):
                ids.setdefault("invoicing.invoice", set()).add(str(data["invoice_id"]))
        invoice_ids = _ints(ids.get("invoicing.invoice", ()))
        invoices = {i.pk: i for i in Invoice.objects.filter(entity=self.entity, pk__in=invoice_ids)
                    .only("pk", "number", "kind", "currency", "status")} if invoice_ids else {}  # fmt: skip
        partner_ids |= set(_ints(ids.get("partners.partner", ())))
        partners = (
            list(Partner.objects.filter(entity=self.entity).filter(pk__in=partner_ids).only("pk", "code", "name",
                                                                                             "currency"))
            if partner_ids else []
        )  # fmt: skip
        by_code = (
            {p.code: p for p in Partner.objects.filter(entity=self.entity, code__in=codes).only("pk", "code", "name",
                                                                                                 "currency")}
            if codes else {}
        )  # fmt: skip
        members = _ints(ids.get("web.staffmembership", ()))
        objects: dict[tuple[str, str], tuple[str, str]] = {}
        if members:
            from leadbill.web.models import StaffMembership

            for pk, email in StaffMembership.objects.filter(entity=self.entity, pk__in=members).values_list(
                "pk", "user__email"
            ):
                objects[("web.staffmembership", str(pk))] = (email, "")
        users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email")) if user_ids else {}
        return _Names(self.entity, invoices, {p.pk: p for p in partners}, by_code, users, objects)

    # --- values -------------------------------------------------------------------------

    def currency_of(self, row: AuditEvent) -> str:
        data = row.data if isinstance(row.data, dict) else {}
        if isinstance(data.get("currency"), str) and len(data["currency"]) == 3:
            return str(data["currency"])
        if row.object_type == "invoicing.invoice":
            inv = self.names.invoices.get(_int(row.object_id) or 0)
            if inv is not None:
                return str(inv.currency)
        partner = self.partner_of(row)
        return str(partner.currency) if partner is not None and partner.currency else str(self.entity.currency)

    def partner_of(self, row: AuditEvent) -> Partner | None:
        data = row.data if isinstance(row.data, dict) else {}
        if row.object_type == "partners.partner":
            return self.names.partners_by_id.get(_int(row.object_id) or 0)
        if isinstance(data.get("partner"), str):
            return self.names.partners_by_code.get(data["partner"])
        if isinstance(data.get("partner_id"), int):
            return self.names.partners_by_id.get(data["partner_id"])
        return None

    def text(self, key: str, value: Any, currency: str) -> str:
        """One recorded value as words: money with its currency, names for ids, lists joined."""
        if value is None or value == "" or value == [] or value == {}:
            return "—"
        fmt = self._formatters.get(currency)
        if fmt is None:
            fmt = self._formatters[currency] = Formatter(self.entity.locale, currency)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key.endswith("_minor") and isinstance(value, int):
            return fmt.money(value)
        if key.endswith("_micros") and isinstance(value, int):
            return fmt.price(value)
        if key.endswith("_bp") and isinstance(value, int):
            return f"{value / 100:g} %"
        if key == "partner" and isinstance(value, str):
            partner = self.names.partners_by_code.get(value)
            return f"{partner.name} ({value})" if partner is not None else value
        if key == "partner_id" and isinstance(value, int):
            found = self.names.partners_by_id.get(value)
            return found.name if found is not None else f"partner #{value}"
        if key == "invoice_id" and isinstance(value, int):
            inv = self.names.invoices.get(value)
            return (inv.number or f"draft {inv.pk}") if inv is not None else f"document #{value}"
        if key == "user_id" and isinstance(value, int):
            return self.names.users.get(value, f"user #{value}")
        if key == "logo_sha256" and isinstance(value, str):
            return f"image {value[:12]}…"
        if isinstance(value, list):
            return ", ".join(self.text(key, v, currency) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{_label(str(k))}: {self.text(str(k), v, currency)}" for k, v in value.items())
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)

    def subject(self, row: AuditEvent) -> tuple[str, str]:
        """What the row is about, by name, and its console page when it has one."""
        slug = self.entity.slug
        pk = _int(row.object_id)
        if row.object_type == "invoicing.invoice" and pk is not None:
            inv = self.names.invoices.get(pk)
            if inv is not None:
                ref = inv.number or f"draft-{inv.pk}"
                return f"{inv.get_kind_display()} {inv.number or f'draft {inv.pk}'}", reverse(
                    "console:invoice", kwargs={"entity": slug, "ref": ref}
                )
        if row.object_type == "partners.partner" and pk is not None:
            partner = self.names.partners_by_id.get(pk)
            if partner is not None:
                return partner.name, reverse("console:partner", kwargs={"entity": slug, "code": partner.code})
        if row.object_type == "entities.entity":
            return self.entity.legal_name, ""
        if (row.object_type, row.object_id) in self.names.objects:
            return self.names.objects[(row.object_type, row.object_id)]
        kind = KIND_WORDS.get(row.object_type, row.object_type.rsplit(".", 1)[-1])
        page = PAGES.get(row.object_type)
        if page is not None and pk is not None:
            return f"{kind} #{pk}", reverse(page, kwargs={"entity": slug, "pk": pk})
        partner = self.partner_of(row)
        if partner is not None:
            return f"{kind} {row.object_id} of {partner.name}", reverse(
                "console:partner", kwargs={"entity": slug, "code": partner.code}
            )
        return f"{kind} {row.object_id}", ""

    def line(self, row: AuditEvent) -> Line:
        data = row.data if isinstance(row.data, dict) else {"data": row.data}
        currency = self.currency_of(row)
        changes: list[Change] = []
        details: list[Detail] = []
        for key, value in data.items():
            if key in HIDDEN:
                continue
            if key == "changed" and isinstance(value, dict):
                for name, pair in value.items():
                    before, after = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
                    changes.append(Change(_label(name), _cut(self.text(name, before, currency)),
                                          _cut(self.text(name, after, currency))))  # fmt: skip
            elif key == "fields" and isinstance(value, dict):
                for name, v in value.items():
                    if v not in (None, "", [], {}):
                        details.append(Detail(_label(name), _cut(self.text(name, v, currency))))
            elif key == "before" and "after" in data:
                changes.append(Change(_label(row.action.rsplit(".", 1)[-1].removesuffix("_changed")),
                                      _cut(self.text("", value, currency)),
                                      _cut(self.text("", data["after"], currency))))  # fmt: skip
            elif key == "after" and "before" in data:
                continue
            elif key == "number" and row.object_type == "invoicing.invoice" and self._is_subject_number(row, value):
                continue  # the subject already names the document
            else:
                details.append(Detail(_label(key), _cut(self.text(key, value, currency))))
        subject, url = self.subject(row)
        return Line(event=row, at=row.at, actor=actor_name(row.actor), action=action_words(row.action),
                    subject=subject, subject_url=url, changes=changes, details=details)  # fmt: skip

    def _is_subject_number(self, row: AuditEvent, number: Any) -> bool:
        inv = self.names.invoices.get(_int(row.object_id) or 0)
        return inv is not None and inv.number == number


def actor_name(actor: str) -> str:
    """'user:ana@acme.example' → 'ana@acme.example'; 'system:scheduler' → 'scheduler (automatic)'."""
    kind, _, who = actor.partition(":")
    if not who:
        return actor
    return {"user": who, "system": f"{who} (automatic)", "cli": f"{who} (command line)",
            "api": f"{who} (API key)", "portal": f"{who} (portal)"}.get(kind, actor)  # fmt: skip


def action_words(action: str) -> str:
    """'invoice.send_queued' → 'Invoice: send queued'."""
    thing, _, what = action.partition(".")
    thing = thing.replace("_", " ").capitalize()
    return f"{thing}: {what.replace('_', ' ')}" if what else thing


def audit_lines(entity: Entity, rows: Iterable[AuditEvent]) -> list[Line]:
    """A page of the entity's audit rows as readable lines, with a fixed number of queries."""
    rows = list(rows)
    reader = Reader(entity, rows)
    return [reader.line(row) for row in rows]


def _int(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _ints(texts: Iterable[str]) -> list[int]:
    return [n for n in (_int(t) for t in texts) if n is not None]
