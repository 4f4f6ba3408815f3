"""Applying a validated set-up file: create or update, in one transaction, with an audit row each.

Objects are found by their natural keys (entity slug; partner, lead type and profile codes;
a plan's scope, side and start). What the file says about an object replaces what is
stored; an object the file does not mention is left alone. Unchanged objects are not
written, so loading the same file twice writes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction

from leadbill.audit.services import audit_record
from leadbill.catalog.models import LeadType, PricePlan
from leadbill.catalog.services import price_plan_set
from leadbill.documents.assets import asset_store
from leadbill.domain.errors import DomainError
from leadbill.domain.periods import zone
from leadbill.entities.models import Entity
from leadbill.entities.services import ensure_series
from leadbill.loader.schema import (
    EntitySpec,
    PartnerSpec,
    PlanSpec,
    Problem,
    SetupDocument,
    SetupFileError,
    _Reader,
    _slug,
    _text,
    parse_document,
)
from leadbill.partners.models import Partner, Profile

KINDS = ("entity", "lead_type", "partner", "profile", "price_plan", "books")
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    key: str
    action: str  # created | updated
    fields: tuple[str, ...]
    path: str


@dataclass(slots=True)
class LoadResult:
    """What a load did (or, with dry_run, would do), counted per kind of object."""

    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {CREATED: 0, UPDATED: 0, UNCHANGED: 0} for kind in KINDS}
    )
    changes: list[Change] = field(default_factory=list)

    def note(self, kind: str, key: str, action: str, path: str, fields: tuple[str, ...] = ()) -> None:
        self.counts[kind][action] += 1
        if action != UNCHANGED:
            self.changes.append(Change(kind, key, action, fields, path))

    def total(self, action: str) -> int:
        return sum(counts[action] for counts in self.counts.values())

    @property
    def created(self) -> int:
        return self.total(CREATED)

    @property
    def updated(self) -> int:
        return self.total(UPDATED)

    @property
    def unchanged(self) -> int:
        return self.total(UNCHANGED)

    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kinds": self.counts,
            "changes": [
                {"kind": c.kind, "key": c.key, "action": c.action, "fields": list(c.fields), "path": c.path}
                for c in self.changes
            ],
        }


class DatabaseCatalog:
    """Profiles and lead types that exist already, for plans that name one not in the file."""

    def has_profile(self, entity: str, partner: str, code: str) -> bool:
        return Profile.objects.filter(partner__entity__slug=entity, partner__code=partner, code=code).exists()

    def has_lead_type(self, entity: str, code: str) -> bool:
        return LeadType.objects.filter(entity__slug=entity, code=code).exists()


def setup_read(text: str, *, base_dir: Path | None = None) -> SetupDocument:
    """Parse and validate a set-up file, resolving plan scopes against the file and the database."""
    return parse_document(text, catalog=DatabaseCatalog(), base_dir=base_dir)


def setup_load(*, actor: str, document: SetupDocument, dry_run: bool = False) -> LoadResult:
    """Create or update everything the document describes, all or nothing.

    With `dry_run` the same writes run and are rolled back, so the result shows exactly
    what a real load would change.
    """
    result = LoadResult(dry_run=dry_run)
    with transaction.atomic():
        for spec in document.entities:
            _load_entity(actor, spec, result)
        if dry_run:
            transaction.set_rollback(True)
    return result


def _put(
    model: type[models.Model],
    *,
    actor: str,
    kind: str,
    lookup: dict[str, Any],
    values: dict[str, Any],
    entity: Entity | None,
) -> tuple[Any, str, tuple[str, ...]]:
    """Create the row found by `lookup`, or update the columns that differ; audit either."""
    obj = model._default_manager.select_for_update().filter(**lookup).first()
    if obj is None:
        obj = model._default_manager.create(**lookup, **values)
        audit_record(actor=actor, action=f"{kind}.created", obj=obj, entity=entity or obj, via="load", fields=values)
        return obj, CREATED, ()
    changed = {name: [getattr(obj, name), value] for name, value in values.items() if getattr(obj, name) != value}
    if not changed:
        return obj, UNCHANGED, ()
    for name, (_, value) in changed.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(changed))
    audit_record(actor=actor, action=f"{kind}.changed", obj=obj, entity=entity or obj, via="load", changed=changed)
    return obj, UPDATED, tuple(changed)


def _refuse_currency_change(obj: Entity | Partner | None, new: str, path: str) -> None:
    """A currency with money already booked in it stays: documents and deliveries would disagree."""
    if obj is None or obj.currency == new:
        return
    from leadbill.deliveries.models import Delivery
    from leadbill.invoicing.models import Invoice

    if isinstance(obj, Entity):
        booked = Invoice.objects.filter(entity=obj, currency=obj.currency).exists()
    else:
        booked = Invoice.objects.filter(partner=obj).exists() or Delivery.objects.filter(partner=obj).exists()
    if booked:
        raise SetupFileError(
            [Problem(f"{path}.currency", f"cannot change {obj.currency} to {new}: {obj.currency} documents or "
                     "deliveries exist; create a new partner for the new currency")]
        )  # fmt: skip


def _load_entity(actor: str, spec: EntitySpec, result: LoadResult) -> None:
    _refuse_currency_change(Entity.objects.filter(slug=spec.slug).first(), spec.columns()["currency"], spec.path)
    if spec.logo is not None:
        asset_store(spec.logo.content, spec.logo.media_type)
    entity, action, fields = _put(
        Entity, actor=actor, kind="entity", lookup={"slug": spec.slug}, values=spec.columns(), entity=None
    )
    if action != UNCHANGED:
        ensure_series(entity)
    if "credit_on_account" in fields and entity.credit_on_account == "automatic":
        from leadbill.receivables.services import credit_spend_on_switch

        credit_spend_on_switch(actor=actor, entity=entity)  # credit already on account is spent now
    if "timezone" in fields:  # the billing summary counts local days: count them again in the new zone
        from leadbill.deliveries import summary

        summary.rebuild(entity.pk, entity.timezone)
    result.note("entity", spec.slug, action, spec.path, fields)

    lead_types: dict[str, LeadType] = {}
    for lt in spec.lead_types:
        obj, action, fields = _put(
            LeadType,
            actor=actor,
            kind="lead_type",
            lookup={"entity": entity, "code": lt.code},
            values=lt.columns(),
            entity=entity,
        )
        lead_types[lt.code] = obj
        result.note("lead_type", f"{spec.slug}/{lt.code}", action, lt.path, fields)

    if spec.books is not None:
        from leadbill.books.models import AccountMapping

        _, action, fields = _put(AccountMapping, actor=actor, kind="books.mapping", lookup={"entity": entity},
                                 values=spec.books, entity=entity)  # fmt: skip
        result.note("books", spec.slug, action, f"{spec.path}.books", fields)

    for partner in spec.partners:
        _load_partner(actor, entity, partner, lead_types, result)


def _load_partner(
    actor: str, entity: Entity, spec: PartnerSpec, lead_types: dict[str, LeadType], result: LoadResult
) -> None:
    key = f"{entity.slug}/{spec.code}"
    _refuse_currency_change(
        Partner.objects.filter(entity=entity, code=spec.code).first(), spec.columns()["currency"], spec.path
    )
    partner, action, fields = _put(
        Partner,
        actor=actor,
        kind="partner",
        lookup={"entity": entity, "code": spec.code},
        values=spec.columns(),
        entity=entity,
    )
    result.note("partner", key, action, spec.path, fields)

    profiles: dict[str, Profile] = {}
    for pf in spec.profiles:
        obj, action, fields = _put(
            Profile,
            actor=actor,
            kind="profile",
            lookup={"partner": partner, "code": pf.code},
            values=pf.columns(),
            entity=entity,
        )
        profiles[pf.code] = obj
        result.note("profile", f"{key}/{pf.code}", action, pf.path, fields)

    for plan in spec.plans:
        _load_plan(actor, partner, plan, profiles, lead_types, result)


def _load_plan(
    actor: str,
    partner: Partner,
    spec: PlanSpec,
    profiles: dict[str, Profile],
    lead_types: dict[str, LeadType],
    result: LoadResult,
) -> PricePlan:
    profile = lead_type = None
    if spec.profile:
        profile = profiles.get(spec.profile) or Profile.objects.filter(partner=partner, code=spec.profile).first()
        if profile is None:
            raise SetupFileError([Problem(f"{spec.path}.profile", f"no profile {spec.profile!r}")])
    if spec.lead_type:
        lead_type = (
            lead_types.get(spec.lead_type)
            or LeadType.objects.filter(entity_id=partner.entity_id, code=spec.lead_type).first()
        )
        if lead_type is None:
            raise SetupFileError([Problem(f"{spec.path}.lead_type", f"no lead type {spec.lead_type!r}")])
    scope = {"partner": partner, "profile": profile, "lead_type": lead_type, "side": spec.side}
    before = PricePlan.objects.filter(**scope, effective_from=spec.effective_from).values("model", "config").first()
    plan, changed = price_plan_set(
        actor=actor, model=spec.model, config=dict(spec.config), effective_from=spec.effective_from, **scope
    )
    key = " ".join(
        part
        for part in (
            f"{partner.entity.slug}/{partner.code}",
            spec.side,
            f"profile={spec.profile}" if spec.profile else "",
            f"lead_type={spec.lead_type}" if spec.lead_type else "",
            f"from {spec.effective_from.astimezone(zone(partner.entity.timezone)).isoformat()}",
        )
        if part
    )
    if before is None:
        result.note("price_plan", key, CREATED, spec.path)
    elif changed:
        after = {"model": spec.model, "config": dict(spec.config)}
        result.note("price_plan", key, UPDATED, spec.path, tuple(k for k in after if before[k] != after[k]))
    else:
        result.note("price_plan", key, UNCHANGED, spec.path)
    return plan


# --- one object at a time (the API's partner, profile, lead type and price-plan writes) ---


def partner_read(*, entity: Entity, code: str, raw: Any) -> PartnerSpec:
    """Validate a partner mapping without writing; raises SetupFileError with every problem."""
    if isinstance(raw, dict):
        if raw.get("code", code) != code:
            raise SetupFileError([Problem("code", f"the body names partner {raw.get('code')!r}, the URL {code!r}")])
        raw = {**raw, "code": code}
    reader = _Reader(DatabaseCatalog())
    spec = reader.partner(
        "", raw, entity=entity.slug, currency=entity.currency, tz=zone(entity.timezone), lead_types=set()
    )
    if reader.problems or spec is None:
        raise SetupFileError(reader.problems)
    return spec


def without_blanks(mapping: dict[str, Any]) -> dict[str, Any]:
    """The mapping without empty values ("" or None, also nested): the reader then applies its default."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            value = without_blanks(value)
        if value not in ("", None):
            out[key] = value
    return out


def merged_mapping(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`current` with what `changes` carries: nested mappings key by key, lists and values whole.

    A key `changes` does not carry keeps its value; a key it carries as "" or null is cleared
    (the reader's default). So a form or a PUT changes exactly what it sends, never what it omits.
    """
    out = dict(current)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged_mapping(out[key], value)
        else:
            out[key] = value
    return out


def partner_mapping(*, entity: Entity, code: str, raw: Any) -> Any:
    """What a partner write means: for a partner that exists, its current mapping with `raw`'s keys.

    Profiles are not carried over: the ones `raw` lists are created or updated, others are left alone.
    """
    if not isinstance(raw, dict):
        return raw
    existing = Partner.objects.filter(entity=entity, code=code).prefetch_related("profiles").first()
    if existing is None:
        return without_blanks(raw)
    from leadbill.partners.selectors import partner_as_dict

    current = {k: v for k, v in partner_as_dict(existing).items() if k not in ("code", "profiles")}
    return without_blanks(merged_mapping(current, raw))


def partner_apply(*, actor: str, entity: Entity, code: str, raw: Any) -> tuple[Partner, LoadResult]:
    """Create a partner, or change the fields a mapping in the set-up file's partner format carries.

    The same reader as a file, so the same checks and messages; problem paths are
    relative to the mapping ("contact.email", "plans[0].tiers[1].price"). What the mapping
    does not carry keeps its value (see `merged_mapping`). Profiles and plans it lists are
    created or updated; ones it does not list are left alone.
    """
    spec = partner_read(entity=entity, code=code, raw=partner_mapping(entity=entity, code=code, raw=raw))
    result = LoadResult()
    with transaction.atomic():
        _load_partner(actor, entity, spec, {}, result)
    return Partner.objects.select_related("entity").get(entity=entity, code=code), result


def plan_apply(*, actor: str, partner: Partner, raw: Any) -> tuple[PricePlan, str]:
    """Create or update one price-plan version from a mapping in the set-up file's plan format.

    Returns the plan and "created", "updated" or "unchanged".
    """
    entity = partner.entity
    reader = _Reader(DatabaseCatalog())
    spec = reader.plan(
        "", raw, tz=zone(entity.timezone), is_buyer=partner.is_buyer, is_supplier=partner.is_supplier,
        has_profile=lambda c: reader.catalog.has_profile(entity.slug, partner.code, c),
        has_lead_type=lambda c: reader.catalog.has_lead_type(entity.slug, c),
    )  # fmt: skip
    if reader.problems or spec is None:
        raise SetupFileError(reader.problems)
    result = LoadResult()
    with transaction.atomic():
        plan = _load_plan(actor, partner, spec, {}, {}, result)
    return plan, result.changes[0].action if result.changes else UNCHANGED


def _code_and_name(code: str, name: str) -> str:
    """Check a code and name as the set-up file does; returns the trimmed name."""
    problems = []
    for name_of, convert, value in (("code", _slug, code), ("name", _text(200), name)):
        try:
            if not convert(value):
                problems.append(Problem(name_of, "required"))
        except DomainError as exc:
            problems.append(Problem(name_of, exc.message))
    if problems:
        raise SetupFileError(problems)
    return name.strip()


def profile_put(
    *, actor: str, partner: Partner, code: str, name: str, is_active: bool | None = None
) -> tuple[Profile, str]:
    """Create or update one delivery profile of a partner; without `is_active` an existing profile
    keeps its state and a new one is active."""
    name = _code_and_name(code, name)
    values: dict[str, Any] = {"name": name} if is_active is None else {"name": name, "is_active": is_active}
    with transaction.atomic():
        profile, action, _ = _put(
            Profile, actor=actor, kind="profile", lookup={"partner": partner, "code": code},
            values=values, entity=partner.entity,
        )  # fmt: skip
    return profile, action


def lead_type_put(*, actor: str, entity: Entity, code: str, name: str) -> tuple[LeadType, str]:
    """Create or rename one lead type of an entity."""
    name = _code_and_name(code, name)
    with transaction.atomic():
        lead_type, action, _ = _put(
            LeadType, actor=actor, kind="lead_type", lookup={"entity": entity, "code": code},
            values={"name": name}, entity=entity,
        )  # fmt: skip
    return lead_type, action
