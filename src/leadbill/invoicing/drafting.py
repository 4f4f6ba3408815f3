"""From gathered facts to invoice drafts and the anomalies an auditor wants to see.

Shared by preview and issue: both call `draft_for_partner` on facts from
`leadbill.invoicing.facts`, so what a preview shows is what an issue writes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection
from django.db.models import Q, Sum, TextField
from django.db.models.functions import Cast

from leadbill.catalog.models import LeadType, PricePlan
from leadbill.domain import caps, generation
from leadbill.domain.generation import InvoiceDraft, PlanVersion, ReturnCredit, UsageGroup
from leadbill.domain.money import micros_to_unit_price, minor_to_decimal, unit_price_text
from leadbill.domain.periods import Period, local_midnight, zone
from leadbill.domain.pricing import FlatPrice, PricingModel, model_from_config
from leadbill.domain.tax import rate_from_bp
from leadbill.entities.models import Entity
from leadbill.invoicing import facts as f
from leadbill.invoicing import rollup
from leadbill.invoicing.bounds import BoundsHistory, held_of, history_of
from leadbill.invoicing.models import Adjustment, BilledLead, Invoice, LedgerEntry, Status
from leadbill.partners.models import CapPolicy, Partner, Profile


@dataclass
class CreditDue:
    """An accepted return of a lead billed on an issued document, not yet credited."""

    return_id: int
    billed_id: int
    delivery_id: int
    amount_minor: int
    lead_type_id: int
    billed_on: str = ""  # the number of the document that billed the lead
    written_off: bool = False  # that document was written off: the partner never paid the lead


@dataclass
class PartnerDraft:
    """What one partner would be billed, with everything needed to persist it."""

    partner: Partner
    facts: f.PartnerFacts
    draft: InvoiceDraft
    kind: str
    credits: list[CreditDue] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    opening_balance_minor: int | None = None
    topups_minor: int | None = None
    closing_balance_minor: int | None = None
    bucket_keys: dict[int, str] = field(default_factory=dict)
    cap_effect: CapEffect | None = None
    held: list[str] = field(default_factory=list)  # safety bounds: why it is held back (invoicing.bounds)
    # Returns of leads billed on written-off documents, and credit adjustments correcting one: never
    # netted on a run's document (the partner never paid those charges). They stay due for a credit
    # note, which lowers the loss (`credit_note_issue`).
    loss_credits: list[CreditDue] = field(default_factory=list)
    loss_adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def billable(self) -> int:
        return self.draft.leads_billed


@dataclass(frozen=True)
class CapEffect:
    """What the partner's cap policy changed: leads left out or repriced, and the amount before tax
    (negative: the invoice is that much lower than billing them under the plan)."""

    policy: str
    leads: int
    amount_minor: int
    price_micros: int | None = None


class Catalog:
    """Plans, lead types, profiles and earlier invoices referenced by a run's facts."""

    def __init__(self, entity: Entity, groups: Iterable[f.Group]) -> None:
        groups = list(groups)
        plan_ids = {g.plan_id for g in groups}
        # The entity's sell plans in one query; an IN list of thousands of ids costs more.
        # Rows, not model instances: ten thousand partners' plans are read on every preview.
        # The config as its stored text: thousands of partners share a handful of configs, each
        # decoded and parsed once (a text that differs only in spacing is merely parsed again).
        rows = (
            PricePlan.objects.filter(entity=entity, side="sell")
            .annotate(config_text=Cast("config", TextField()))
            .values_list("pk", "model", "config_text", "effective_from")
        )
        parsed: dict[tuple[str, str], PricingModel] = {}
        self.versions: dict[int, PlanVersion] = {}
        for pk, model, config, effective_from in rows:
            if pk not in plan_ids:
                continue
            key = (model, config)
            if key not in parsed:
                parsed[key] = model_from_config(model, json.loads(config))
            self.versions[pk] = PlanVersion(pk, parsed[key], effective_from)
        self._period: Period | None = None
        self._period_key = ""
        self.lead_types = {lt.pk: lt for lt in LeadType.objects.filter(entity=entity)}
        profile_ids = {g.scope_profile for g in groups if g.scope_profile}
        self.profiles = {p.pk: p for p in Profile.objects.filter(pk__in=profile_ids)}
        invoice_ids = {g.bucket_invoice for g in groups if g.bucket_invoice > 0}
        self.bucket_keys = dict(Invoice.objects.filter(pk__in=invoice_ids).values_list("pk", "period_key"))

    def scope_label(self, group: f.Group) -> str:
        parts = []
        if group.scope_type:
            parts.append(self.lead_types[group.scope_type].name)
        if group.scope_profile:
            parts.append(self.profiles[group.scope_profile].name)
        return " \u00b7 ".join(parts) or "Leads"

    def bucket_key(self, group: f.Group, period: Period) -> str:
        if group.bucket_invoice == f.CURRENT_BUCKET:
            if self._period is not period:  # the key is formatted once per run, not once per group
                self._period, self._period_key = period, period.key
            return self._period_key
        if group.bucket_invoice == f.EARLIER_BUCKET:
            return f.EARLIER_KEY
        return self.bucket_keys[group.bucket_invoice]

    def version(self, plan_id: int) -> PlanVersion:
        return self.versions[plan_id]


def credits_due(
    partner_ids: Sequence[int], entity_id: int | None = None, *, lock: bool = False
) -> dict[int, list[CreditDue]]:
    """Accepted returns of leads billed on an issued document and not yet credited.

    A lead on a draft is credited once the draft is issued: until then the draft may
    still be discarded, and its billing with it. With `entity_id`, a long partner list is
    read entity-wide and filtered here (`facts.PARTNER_LIST_MAX`).

    `lock` (issue, credit note) locks the invoices that billed the returned leads, by id list
    only, lowest id first, before reading: a write-off or void of one of them (which lock it
    too) then waits for the credit to be written, or this waits for it and then reads, in a new
    statement, everything as it now stands (written off: not netted; void: its leads are no
    longer billed; credited meanwhile: not again). Without it both could pass their checks.
    """
    out: dict[int, list[CreditDue]] = defaultdict(list)
    if not partner_ids:
        return out
    wide = entity_id is not None and len(partner_ids) > f.PARTNER_LIST_MAX and not lock
    which = (
        f"d.entity_id = {int(entity_id)}"
        if wide and entity_id is not None
        else f"d.partner_id IN ({f.id_list(partner_ids)})"
    )
    wanted = set(partner_ids)
    false = f.sql_false()
    due = f"""FROM deliveries_return r
                  JOIN invoicing_billedlead b ON b.delivery_id = r.delivery_id AND b.voided = {false}
                  JOIN invoicing_invoice i ON i.id = b.invoice_id
                                         AND i.status IN ('issued', 'partially_paid', 'paid', 'written_off')
                  JOIN deliveries_delivery d ON d.id = r.delivery_id
                 WHERE r.status = 'accepted' AND {which}
                   AND NOT EXISTS (SELECT 1 FROM invoicing_creditedlead c
                                    WHERE c.billed_id = b.id AND c.voided = {false})"""
    with connection.cursor() as cursor:
        if lock and connection.vendor == "postgresql":  # locked first; the read below sees them as they now are
            cursor.execute(
                f"SELECT id FROM invoicing_invoice WHERE id IN (SELECT b.invoice_id {due}) ORDER BY id FOR UPDATE"
            )
        cursor.execute(
            f"""SELECT d.partner_id, r.id, b.id, d.id, b.amount_minor, d.lead_type_id, i.number,
                       i.status = 'written_off'
                  {due}
                 ORDER BY d.partner_id, d.delivered_at, d.id"""
        )
        for partner_id, ret, billed, delivery, amount, lead_type, number, written_off in cursor.fetchall():
            if partner_id in wanted:
                out[partner_id].append(CreditDue(ret, billed, delivery, amount, lead_type, number or "",
                                                 bool(written_off)))  # fmt: skip
    return out


def return_credits(credits: Sequence[CreditDue], lead_types: dict[int, LeadType]) -> list[ReturnCredit]:
    by_type: dict[int, list[CreditDue]] = defaultdict(list)
    for credit in credits:
        by_type[credit.lead_type_id].append(credit)
    return [
        ReturnCredit(
            description=f"Returned leads credited \u2014 {lead_types[lt].name}",
            count=len(items),
            amount_minor=sum(c.amount_minor for c in items),
        )
        for lt, items in sorted(by_type.items())
    ]


def open_adjustments(
    partner_ids: Sequence[int], *, lock: bool = False, entity_id: int | None = None
) -> dict[int, list[Adjustment]]:
    """Adjustments not yet on a document, per partner; `lock` locks them (issue), by id list only,
    so workers issuing other partners of the entity are not held up."""
    wide = entity_id is not None and len(partner_ids) > f.PARTNER_LIST_MAX and not lock
    which = {"partner__entity_id": entity_id} if wide else {"partner_id__in": partner_ids}
    qs = Adjustment.objects.filter(**which, invoice__isnull=True).order_by("created_at", "pk")
    qs = qs.select_related("corrects")  # a credit correcting a written-off invoice is not netted (draft_for_partner)
    wanted = set(partner_ids)
    if lock:
        qs = qs.select_for_update(of=("self",))  # PostgreSQL locks no nullable side of a join: see below
    out: dict[int, list[Adjustment]] = defaultdict(list)
    for adj in qs:
        if adj.partner_id in wanted:
            out[adj.partner_id].append(adj)
    corrected = sorted({a.corrects_id for adjs in out.values() for a in adjs if a.corrects_id is not None})
    if lock and corrected:  # as `credits_due`: a write-off or void of a corrected invoice waits, or is read
        now = dict(
            Invoice.objects.select_for_update().filter(pk__in=corrected).order_by("pk").values_list("pk", "status")
        )
        for adjs in out.values():
            for adj in adjs:
                if adj.corrects is not None:
                    adj.corrects.status = now[adj.corrects.pk]
    return out


def usage_groups(
    partner: Partner,
    pf: f.PartnerFacts,
    period: Period,
    catalog: Catalog,
    billed: dict[tuple[int, str, str], int],
    groups_in: Sequence[f.Group] | None = None,
) -> list[UsageGroup]:
    """The domain's usage groups; over-cap groups (policy "price") at the partner's over-cap price."""
    groups = []
    for g in pf.groups if groups_in is None else groups_in:
        bucket = catalog.bucket_key(g, period)
        g.bucket_key, g.already_billed = bucket, billed.get((partner.pk, g.scope, bucket), 0)
        version = catalog.version(g.plan_id)
        if g.over_cap and partner.over_cap_price_micros is not None:
            flat = FlatPrice(micros_to_unit_price(partner.over_cap_price_micros))
            version = PlanVersion(version.id, flat, version.effective_from)
        groups.append(
            UsageGroup(
                scope=g.scope,
                scope_label=catalog.scope_label(g),
                bucket=bucket,
                version=version,
                count=g.count,
                price_sum_micros=g.price_sum_micros,
                already_billed=g.already_billed,
                prior=g.bucket_invoice != f.CURRENT_BUCKET,
                prices=tuple(sorted(g.prices.items())) if not g.over_cap else (),
                over_cap=bool(g.over_cap),
            )
        )
    return groups


def _as_if_within_cap(pf: f.PartnerFacts) -> list[f.Group]:
    """The partner's groups with its over-cap leads put back under the plan (the policy's yardstick)."""
    merged: dict[tuple[int, int, int, int], f.Group] = {}
    for g in [*pf.groups, *pf.excluded]:
        key = (g.plan_id, g.scope_profile, g.scope_type, g.bucket_invoice)
        into = merged.get(key)
        if into is None:
            into = merged[key] = f.Group(g.partner_id, *key, count=0, price_sum_micros=0)
        into.count += g.count
        into.price_sum_micros += g.price_sum_micros
        for price, n in g.prices.items():
            into.prices[price] = into.prices.get(price, 0) + n
    return list(merged.values())


def cap_effect(
    partner: Partner, pf: f.PartnerFacts, period: Period, catalog: Catalog, billed: dict[tuple[int, str, str], int],
    usage_total: int,
) -> CapEffect | None:  # fmt: skip
    """How much the cap policy changed the partner's usage lines, against billing every lead under the plan."""
    repriced = sum(g.count for g in pf.groups if g.over_cap)
    leads = pf.excluded_count + repriced
    if not leads:
        return None
    rate = rate_from_bp(partner.tax_rate())
    plain = generation.charge_lines(
        usage_groups(partner, pf, period, catalog, billed, _as_if_within_cap(pf)), partner.currency, rate
    )
    policy = CapPolicy.EXCLUDE if pf.excluded else CapPolicy.PRICE
    return CapEffect(policy, leads, usage_total - sum(line.amount_minor for line in plain),
                     partner.over_cap_price_micros if policy == CapPolicy.PRICE else None)  # fmt: skip


@dataclass
class Standing:
    """Money already on the books for the partners of a run, read in two grouped queries.

    `ledger`: prepay partner -> (balance before the period, top-ups in it, all movements in it).
    `open_due`: credit partner with a limit -> amount still due on its issued invoices.
    """

    ledger: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    open_due: dict[int, int] = field(default_factory=dict)
    returning: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # partner -> (voided number, leads)
    history: BoundsHistory | None = None  # the partners' earlier documents, for the safety bounds


def standing_of(partners: Sequence[Partner], period: Period) -> Standing:
    standing = Standing()
    prepay = [p.pk for p in partners if p.is_prepay]
    if prepay:
        in_period = Q(occurred_at__gte=period.start, occurred_at__lt=period.end)
        rows = (
            LedgerEntry.objects.filter(partner_id__in=prepay)
            .values("partner_id")
            .annotate(
                opening=Sum("amount_minor", filter=Q(occurred_at__lt=period.start)),
                topups=Sum("amount_minor", filter=in_period & Q(kind="topup")),
                movements=Sum("amount_minor", filter=in_period),
            )
        )
        standing.ledger = {r["partner_id"]: (r["opening"] or 0, r["topups"] or 0, r["movements"] or 0) for r in rows}
    standing.returning = returning_leads([p.pk for p in partners], partners[0].entity_id if partners else None)
    standing.history = history_of(partners, period)
    limited = [p.pk for p in partners if p.credit_limit_minor is not None and not p.is_prepay]
    if limited:
        from leadbill.receivables.models import Entry

        rows = Entry.objects.filter(partner_id__in=limited).values("partner_id").annotate(due=Sum("amount_minor"))
        standing.open_due = {r["partner_id"]: r["due"] or 0 for r in rows}
    return standing


def returning_leads(partner_ids: Sequence[int], entity_id: int | None = None) -> dict[int, list[tuple[str, int]]]:
    """Leads of voided invoices that are billable again (voided to re-bill, not billed since), per partner."""
    from django.db.models import Count, Exists, OuterRef

    if not partner_ids:
        return {}
    wide = entity_id is not None and len(partner_ids) > f.PARTNER_LIST_MAX
    which = {"invoice__entity_id": entity_id} if wide else {"invoice__partner_id__in": partner_ids}
    wanted = set(partner_ids)
    billed_since = BilledLead.objects.filter(voided=False, delivery_id=OuterRef("delivery_id"))
    rows = (
        BilledLead.objects.filter(voided=True, **which, invoice__status="void")
        .exclude(Exists(billed_since))
        .values("invoice__partner_id", "invoice__number")
        .annotate(n=Count("delivery_id", distinct=True))
        .order_by("invoice__partner_id", "invoice__number")
    )
    out: dict[int, list[tuple[str, int]]] = {}
    for row in rows:
        if row["invoice__partner_id"] in wanted:
            out.setdefault(row["invoice__partner_id"], []).append((row["invoice__number"], row["n"]))
    return out


def prepay_figures(
    partner: Partner, period: Period, total_minor: int, standing: Standing | None = None
) -> tuple[int, int, int]:
    """Opening balance, top-ups in the period, closing balance after this receipt."""
    standing = standing if standing is not None else standing_of([partner], period)
    opening, topups, movements = standing.ledger.get(partner.pk, (0, 0, 0))
    return opening, topups, opening + movements - total_minor


def capped_by_policy(partners: Sequence[Partner]) -> list[Partner]:
    """Partners whose caps change the invoice (policy exclude, or price with its price set)."""
    return [
        p for p in partners
        if (p.cap_daily is not None or p.cap_weekly is not None or p.cap_monthly is not None)
        and (p.cap_policy == CapPolicy.EXCLUDE
             or (p.cap_policy == CapPolicy.PRICE and p.over_cap_price_micros is not None))
    ]  # fmt: skip


def over_cap_of(entity: Entity, period: Period, partners: Sequence[Partner]) -> f.OverCap:
    """The billable leads over their partner's caps, by the domain's greedy rule (`domain.caps`).

    Leads of the same windows already billed within cap (earlier invoices) take their room first.
    """
    capped = capped_by_policy(partners)
    if not capped:
        return f.OverCap()
    tz = zone(entity.timezone)
    leads = f.billable_times(entity.pk, period, [p.pk for p in capped])
    if not leads:
        return f.OverCap()
    days = [at.astimezone(tz).date() for _, _, at in leads]
    first = min(min(d.replace(day=1), d - timedelta(days=d.weekday())) for d in days)
    last = max(max(d - timedelta(days=d.weekday()) + timedelta(days=7), _next_month(d)) for d in days)
    taken_by: dict[int, list[date]] = defaultdict(list)
    for partner_id, at in f.taken_times([p.pk for p in capped], local_midnight(first, tz), local_midnight(last, tz)):
        taken_by[partner_id].append(at.astimezone(tz).date())
    by_partner: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for (partner_id, delivery_id, _), day in zip(leads, days, strict=True):
        by_partner[partner_id].append((delivery_id, day))
    ids: list[int] = []
    for partner in capped:
        rows = by_partner.get(partner.pk, [])
        limits = caps.Caps(partner.cap_daily, partner.cap_weekly, partner.cap_monthly)
        flags = caps.over_cap([day for _, day in rows], limits, caps.taken_per_window(taken_by.get(partner.pk, [])))
        ids += [delivery_id for (delivery_id, _), over in zip(rows, flags, strict=True) if over]
    return f.OverCap(
        tuple(ids),
        frozenset(p.pk for p in capped if p.cap_policy == CapPolicy.EXCLUDE),
        frozenset(p.pk for p in capped if p.cap_policy == CapPolicy.PRICE),
    )


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def cap_overruns(partners: Sequence[Partner], period: Period) -> dict[int, list[str]]:
    """Deliveries above each capped partner's daily, weekly and monthly lead caps.

    One query counts every capped partner's deliveries per local day (days do not
    overlap); weeks (Monday to Sunday, whole weeks inside the period) and the month are
    sums of days.
    """
    capped = [p for p in partners if p.cap_daily or p.cap_weekly or p.cap_monthly]
    out: dict[int, list[str]] = defaultdict(list)
    if not capped:
        return out
    tz = zone(period.timezone)
    days = [period.first_day + timedelta(days=i) for i in range((period.end_day - period.first_day).days)]
    if rollup.aligned(period):
        per_partner_day = rollup.leads_per_day(capped[0].entity_id, [p.pk for p in capped], period.first_day,
                                               period.end_day)  # fmt: skip
        counts = {(p, days.index(d)): n for (p, d), n in per_partner_day.items()}
    else:
        counts = f.count_in_windows(
            [p.pk for p in capped], [(local_midnight(d, tz), local_midnight(d + timedelta(days=1), tz)) for d in days]
        )
    for partner in capped:
        per_day = [counts.get((partner.pk, i), 0) for i in range(len(days))]
        found = out[partner.pk]
        if partner.cap_daily:
            found += [
                f"{n - partner.cap_daily} over cap on {day.isoformat()} (daily cap {partner.cap_daily})"
                for day, n in zip(days, per_day, strict=True)
                if n > partner.cap_daily
            ]
        if partner.cap_weekly:
            for i, day in enumerate(days):
                n = sum(per_day[i : i + 7])
                if day.weekday() == 0 and i + 7 <= len(days) and n > partner.cap_weekly:
                    found.append(
                        f"{n - partner.cap_weekly} over cap on week of {day.isoformat()} (weekly cap {partner.cap_weekly})"
                    )
        if partner.cap_monthly and period.kind == "month" and sum(per_day) > partner.cap_monthly:
            found.append(
                f"{sum(per_day) - partner.cap_monthly} over cap on {period.key} (monthly cap {partner.cap_monthly})"
            )
    return out


def anomalies_of(partner: Partner, pd: PartnerDraft, standing: Standing) -> list[str]:
    pf = pd.facts
    found = []
    if not partner.is_active and (pf.delivered or pd.draft.lines):
        found.append(f"{pf.delivered} deliveries to an inactive partner")
    if pf.currency_mismatch:
        found.append(f"{pf.currency_mismatch} deliveries not in {partner.currency} (not billed)")
    if pf.missing_price:
        found.append(f"{pf.missing_price} deliveries without a price (not billed)")
    if pf.duplicate_leads:
        found.append(f"same lead delivered again {pf.duplicate_leads}\u00d7")
    if pf.late:
        found.append(f"{pf.late} late deliveries of earlier periods (billed as prior-period lines)")
    effect = pd.cap_effect
    if effect is not None:
        fmt = f"{minor_to_decimal(abs(effect.amount_minor), partner.currency)} {partner.currency}"
        if effect.policy == CapPolicy.EXCLUDE:
            found.append(f"{effect.leads} leads over cap left out ({fmt} not billed)")
        else:
            price = unit_price_text(effect.price_micros or 0, partner.currency)
            change = "less" if effect.amount_minor <= 0 else "more"
            found.append(f"{effect.leads} leads over cap billed at the over-cap price {price} ({fmt} {change})")
    elif partner.cap_policy == CapPolicy.PRICE and partner.over_cap_price_micros is None and pf.cap_overruns:
        found.append("cap policy is price but no over-cap price is set: over-cap leads billed under the plan")
    if not capped_by_policy([partner]):  # under a policy, the effect above replaces the flags
        found.extend(pf.cap_overruns)
    for number, leads in standing.returning.get(partner.pk, []):
        found.append(f"{leads} lead{'s' if leads != 1 else ''} come back from voided {number} (billed again)")
    if pd.loss_credits:
        amount = minor_to_decimal(sum(c.amount_minor for c in pd.loss_credits), partner.currency)
        numbers = ", ".join(sorted({c.billed_on for c in pd.loss_credits}))
        leads = len(pd.loss_credits)
        found.append(
            f"{leads} returned lead{'s' if leads != 1 else ''} of written-off {numbers} ({amount} {partner.currency}) "
            "not netted here: issue the partner a credit note, which lowers the loss"
        )
    for adj in pd.loss_adjustments:
        amount = minor_to_decimal(-adj.amount_minor, partner.currency)
        number = adj.corrects.number if adj.corrects else ""
        found.append(
            f"credit adjustment of {amount} {partner.currency} for written-off {number} not netted here: "
            "issue the partner a credit note, which lowers the loss"
        )
    if pd.closing_balance_minor is not None and pd.closing_balance_minor < 0:
        found.append("prepay balance would fall below zero")
    limit = None if partner.is_prepay else partner.credit_limit_minor
    if limit is not None and standing.open_due.get(partner.pk, 0) + pd.draft.total_minor > limit:
        found.append("credit limit would be exceeded")
    return found


def corrects_a_loss(adjustment: Adjustment) -> bool:
    """A credit adjustment for an invoice that was written off: it lowers the loss, on a credit note."""
    corrects = adjustment.corrects
    return adjustment.amount_minor < 0 and corrects is not None and corrects.status == Status.WRITTEN_OFF


def draft_for_partner(
    partner: Partner,
    pf: f.PartnerFacts,
    period: Period,
    catalog: Catalog,
    billed: dict[tuple[int, str, str], int],
    credits: list[CreditDue],
    adjustments: list[Adjustment],
    standing: Standing,
) -> PartnerDraft:
    rate = rate_from_bp(partner.tax_rate())
    usage = usage_groups(partner, pf, period, catalog, billed)
    loss_credits = [c for c in credits if c.written_off]
    if loss_credits:
        credits = [c for c in credits if not c.written_off]
    loss_adjustments = [a for a in adjustments if corrects_a_loss(a)]
    if loss_adjustments:
        adjustments = [a for a in adjustments if not corrects_a_loss(a)]
    draft = generation.generate(
        currency=partner.currency,
        tax_rate=rate,
        usage=usage,
        credits=return_credits(credits, catalog.lead_types),
        adjustments=[generation.Adjustment(a.pk, a.amount_minor, a.reason) for a in adjustments],
    )
    if partner.is_prepay:
        kind = "receipt"  # a negative receipt refunds the balance; it stays a receipt
    elif draft.total_minor < 0:
        kind = "credit_note"
    else:
        kind = "invoice"
    pd = PartnerDraft(partner, pf, draft, kind, credits, adjustments, loss_credits=loss_credits,
                      loss_adjustments=loss_adjustments)  # fmt: skip
    usage_total = sum(
        line.amount_minor for line in draft.lines if line.kind in (generation.CHARGE, generation.PRIOR_PERIOD)
    )
    pd.cap_effect = cap_effect(partner, pf, period, catalog, billed, usage_total)
    if partner.is_prepay:
        pd.opening_balance_minor, pd.topups_minor, pd.closing_balance_minor = prepay_figures(
            partner, period, draft.total_minor, standing
        )
    pd.anomalies = anomalies_of(partner, pd, standing)
    pd.held = held_of(pd, standing.history)
    return pd


def run_partners(entity: Entity, codes: Sequence[str] | None = None) -> list[Partner]:
    qs = Partner.objects.filter(entity=entity, is_buyer=True).order_by("code")
    if codes:
        qs = qs.filter(code__in=codes)
    partners = list(qs)
    for partner in partners:
        partner.entity = entity  # one shared instance instead of a joined copy per partner
    if codes:
        missing = set(codes) - {p.code for p in partners}
        if missing:
            from leadbill.domain.errors import DomainError

            raise DomainError(f"unknown partner {sorted(missing)[0]!r} in {entity.slug}", field="partner")
    return partners
