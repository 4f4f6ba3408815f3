"""A partner's rate card: what it pays and on which terms, in plain words, now and as scheduled.

Partners agree to prices in advance (Leadflip's advice: share pricing and billing terms before
the first invoice), so the portal page, its PDF and the notice of a scheduled price change all
read this one selector. It reads the stored plans, caps, return policy, payment terms and billing
cycle; the wording of a plan comes from `domain.plan_wording`, never from a second formatter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from leadbill.catalog.models import PlanSide, PricePlan
from leadbill.deliveries.selectors import return_reasons
from leadbill.documents.formatting import Formatter
from leadbill.domain import periods
from leadbill.domain import schedules as rules
from leadbill.domain.errors import DomainError
from leadbill.domain.plan_wording import describe_config
from leadbill.partners.models import CapPolicy, Partner


@dataclass(frozen=True)
class PlanLine:
    """One plan version of one scope: who it applies to, its price in words, since or from when."""

    scope: str
    words: str
    effective_from: datetime
    effective_to: datetime | None
    scheduled: bool  # starts in the future


@dataclass(frozen=True)
class RateCard:
    partner: Partner
    at: datetime
    current: list[PlanLine]
    scheduled: list[PlanLine]
    caps: list[tuple[str, str]]  # (label, value)
    cap_policy: str
    returns: list[tuple[str, str]]
    return_reasons: list[str]
    payment: list[tuple[str, str]]
    cycle: str
    notes: list[str] = field(default_factory=list)

    @property
    def first_change(self) -> datetime | None:
        return min((line.effective_from for line in self.scheduled), default=None)


def _scope(plan: PricePlan) -> str:
    parts = []
    if plan.profile_id:
        parts.append(f"profile {plan.profile.name}")
    if plan.lead_type_id:
        parts.append(f"{plan.lead_type.name} leads")
    return ", ".join(parts).capitalize() if parts else "All leads"


def _words(plan: PricePlan, partner: Partner) -> str:
    try:
        return describe_config(plan.model, plan.config, currency=partner.currency, locale=partner.entity.locale)
    except DomainError:  # a stored plan the current models refuse: say so rather than fail the page
        return f"{plan.model} plan (ask {partner.entity.legal_name} for its terms)"


def _plans(partner: Partner, at: datetime) -> tuple[list[PlanLine], list[PlanLine]]:
    """The versions in force at `at` and those that start later, by scope, oldest first."""
    rows = (
        PricePlan.objects.filter(partner=partner, side=PlanSide.SELL)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=at))
        .select_related("profile", "lead_type")
        .order_by("profile__name", "lead_type__name", "effective_from", "pk")
    )
    current, scheduled = [], []
    for plan in rows:
        future = plan.effective_from > at
        line = PlanLine(_scope(plan), _words(plan, partner), plan.effective_from, plan.effective_to, future)
        (scheduled if future else current).append(line)
    return current, scheduled


def _caps(partner: Partner, fmt: Formatter) -> tuple[list[tuple[str, str]], str]:
    caps = [(label, f"{fmt.count(value)} leads") for label, value in
            (("Daily cap", partner.cap_daily), ("Weekly cap", partner.cap_weekly), ("Monthly cap", partner.cap_monthly))
            if value]  # fmt: skip
    if not caps:
        return [], "No lead caps: every lead delivered is billed."
    if partner.cap_policy == CapPolicy.EXCLUDE:
        policy = "Leads beyond a cap are not billed."
    elif partner.cap_policy == CapPolicy.PRICE and partner.over_cap_price_micros is not None:
        policy = f"Leads beyond a cap are billed at {fmt.price(partner.over_cap_price_micros)} each."
    else:
        policy = "Leads beyond a cap are billed at the plan price, and the overage is reported to you."
    return caps, policy


def _returns(partner: Partner) -> list[tuple[str, str]]:
    if not partner.returns_allowed:
        return [("Returns", "Not accepted")]
    age = partner.return_max_age_days
    share = partner.return_max_share_bp
    return [
        ("Returns", "Accepted"),
        ("Time limit", f"within {age} day{'s' * (age != 1)} of delivery" if age is not None else "none"),
        ("Share limit", f"at most {share // 100}.{share % 100:02d} % of a month's leads" if share is not None else "none"),
        ("Decision", "accepted at once" if partner.return_auto_accept else "reviewed, then accepted or refused"),
        ("Credit", "accepted returns are credited on your next invoice"),
    ]  # fmt: skip


def _payment(partner: Partner, fmt: Formatter) -> list[tuple[str, str]]:
    rate = partner.tax_rate()
    tax = "none" if not rate else f"{rate // 100}{f'.{rate % 100:02d}'.rstrip('0') if rate % 100 else ''} %"
    rows = [("Currency", partner.currency)]
    if partner.is_prepay:
        rows.append(("Billing", "Prepaid: each period's leads are taken from your balance, with a receipt"))
        if partner.low_balance_minor is not None:
            rows.append(("Low-balance alert", f"below {fmt.money(partner.low_balance_minor)}"))
    else:
        days = partner.payment_terms()
        rows.append(("Billing", "On credit: one invoice per billing period"))
        rows.append(("Payment terms", f"due {days} day{'s' * (days != 1)} after the invoice date"))
        if partner.credit_limit_minor is not None:
            rows.append(("Credit limit", fmt.money(partner.credit_limit_minor)))
    rows.append(("Tax", tax))
    return rows


def _schedule(partner: Partner) -> tuple[object | None, bool]:
    """The schedule that bills this partner: its own, else the entity's; and whether it is its own."""
    from leadbill.scheduling.models import Schedule

    own = Schedule.objects.filter(partner=partner).first()
    if own is not None:
        return own, True
    return Schedule.objects.filter(entity_id=partner.entity_id, partner__isnull=True).first(), False


def billing_cycle(partner: Partner) -> tuple[str, rules.Rule | None]:
    """The partner's billing cycle in words, and its rule (None: calendar months, invoiced by hand)."""
    from leadbill.scheduling.models import Frequency
    from leadbill.scheduling.services import rule_of

    schedule, own = _schedule(partner)
    zone_name = partner.entity.timezone
    whose = "your own billing cycle" if own else f"{partner.entity.legal_name}'s billing cycle"
    rule = rule_of(schedule) if schedule is not None else None  # type: ignore[arg-type]
    if isinstance(rule, rules.Weekly):
        text = (f"Weekly ({whose}): leads from {rules.Weekly.describe(rule.window_start_day, rule.window_start_minute)} "
                f"to {rules.Weekly.describe(rule.window_end_day, rule.window_end_minute)}, invoiced "
                f"{rules.Weekly.describe(rule.generate_day, rule.generate_minute)} ({zone_name} time)")  # fmt: skip
    elif isinstance(rule, rules.Monthly):
        text = f"Monthly ({whose}): each calendar month, invoiced on the 1st at {rules.clock(rule.generate_minute)} ({zone_name} time)"
    else:
        manual = schedule is not None and schedule.frequency == Frequency.MANUAL  # type: ignore[attr-defined]
        text = f"Monthly: each calendar month ({zone_name} time), invoiced after it ends" + (
            " by hand" if manual else ""
        )
    return text, rule


def current_period(partner: Partner, now: datetime) -> periods.Period:
    """The billing period `now` falls in: the partner's weekly window, else the calendar month."""
    _, rule = billing_cycle(partner)
    tz = partner.entity.timezone
    local = now.astimezone(periods.zone(tz)).date()
    if isinstance(rule, rules.Weekly):
        first = local - timedelta(days=(local.weekday() - rule.window_start_day) % 7)
        for day in (first, first - timedelta(days=7)):
            period = rule.period(day, tz)
            if period.start <= now < period.end:
                return period
        return rule.period(first, tz)  # between two windows: the one about to start
    return periods.month(local.year, local.month, tz)


def rate_card(partner: Partner, at: datetime) -> RateCard:
    """Everything the partner has agreed to pay, at `at`, with what is scheduled to change."""
    fmt = Formatter(partner.entity.locale, partner.currency)
    current, scheduled = _plans(partner, at)
    caps, cap_policy = _caps(partner, fmt)
    cycle, _ = billing_cycle(partner)
    reasons = return_reasons(partner.entity)
    notes = [] if current or scheduled else [f"No price is set yet: ask {partner.entity.legal_name}."]
    return RateCard(partner=partner, at=at, current=current, scheduled=scheduled, caps=caps, cap_policy=cap_policy,
                    returns=_returns(partner), return_reasons=reasons if partner.returns_allowed else [],
                    payment=_payment(partner, fmt), cycle=cycle, notes=notes)  # fmt: skip
