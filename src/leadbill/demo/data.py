"""Deterministic demo data: the set-up document and the delivery rows.

The set-up goes through the same YAML loader users use (`leadbill load`), and the
deliveries through the same CSV import (`leadbill import deliveries`).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml
from stdnum import luhn
from stdnum.iso7064 import mod_11_10
from stdnum.us import ein as us_ein

from leadbill.domain.periods import Period

US_BUYERS = [
    "Blue River Insurance", "Summit Auto Protect", "Keystone Home Shield", "Harbor Health Partners",
    "Pinecrest Life", "Solaris Energy Direct", "Granite Mortgage Co", "Lakeside Insurance Group",
    "Redwood Benefits", "Meridian Auto Club", "Cobalt Home Loans", "Northstar Health",
    "Evergreen Solar", "Atlas Life & Annuity", "Beacon Insurance Agency", "Crescent Auto Direct",
    "Liberty Home Warranty", "Prairie Health Plans", "Orchard Mortgage", "Sterling Insurance Brokers",
]  # fmt: skip
EU_BUYERS = [
    "Rheinland Versicherung", "Alpen Energie", "Hanse Kredit", "Elbe Gesundheit", "Isar Solar",
    "Nordsee Makler", "Main Finanz", "Bodensee Leben", "Spree Immobilien", "Donau Direkt",
]  # fmt: skip
SUPPLIERS = ["LeadForge Media", "ClickHarbor", "Quotewise Affiliates"]
US_TYPES = [("auto", "Auto insurance"), ("home", "Home insurance"), ("health", "Health insurance"),
            ("life", "Life insurance"), ("solar", "Solar"), ("mortgage", "Mortgage")]  # fmt: skip
EU_TYPES = [("kfz", "Kfz-Versicherung"), ("solar", "Solar"), ("kredit", "Baufinanzierung")]
STATES = ["CA", "TX", "FL", "NY", "IL", "PA", "OH", "GA", "NC", "MI"]
# Buyers' places: a US address carries its state and a ZIP code of that city (documents print "Austin, TX 78701").
US_PLACES = [("Austin", "TX", 78701), ("Denver", "CO", 80202), ("Columbus", "OH", 43215), ("Raleigh", "NC", 27601)]
DE_PLACES = [("Hamburg", "", 20095), ("München", "", 80331), ("Köln", "", 50667), ("Leipzig", "", 4109)]


def _place(place: tuple[str, str, int], i: int) -> dict[str, str]:
    city, region, base = place
    return {"city": city, "postal_code": f"{base + i % 20:05d}", **({"region": region} if region else {})}


TIERS = [{"up_to": 300, "price": "3.00"}, {"up_to": 700, "price": "2.50"}, {"up_to": None, "price": "2.00"}]


def slug(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name.lower().replace("&", " ")).split()
    return "-".join(words)


@dataclass(frozen=True)
class BuyerPlan:
    code: str
    entity: str
    currency: str
    lead_types: tuple[str, ...]
    profiles: tuple[str, ...]
    delivered_price: bool
    weight: float


def setup_document(history: Period, last: Period) -> tuple[dict[str, Any], list[BuyerPlan]]:
    """The two entities with their partners and plans, as a `leadbill load` document."""
    rng = random.Random(7)
    models = ["flat", "graduated", "volume", "delivered"]
    buyers: list[BuyerPlan] = []
    entities = []
    for slug_, legal, currency, tz, prefix, country, tax, names, types in (
        ("acme-us", "Acme Leads Inc.", "USD", "America/New_York", "US-", "US", "0", US_BUYERS, US_TYPES),
        ("acme-eu", "Acme Leads Europe GmbH", "EUR", "Europe/Berlin", "EU-", "DE", "19", EU_BUYERS, EU_TYPES),
    ):
        partners = []
        for i, name in enumerate(names):
            code = slug(name)
            model = models[i % 4]
            own_types = tuple(t for t, _ in rng.sample(types, k=min(len(types), 1 + i % 3)))
            profiles = tuple(f"{code[:12]}-{s.lower()}" for s in rng.sample(STATES, k=1 + i % 3))
            start = f"{history.first_day.replace(day=1) - timedelta(days=40):%Y-%m-01}"
            plans: list[dict[str, Any]] = []
            if model == "flat":
                plans.append(
                    {"model": "flat", "price": f"{rng.choice(['2.50', '3.25', '4.00', '12.00'])}", "from": start}
                )
            elif model in ("graduated", "volume"):
                plans.append({"model": model, "tiers": TIERS, "from": start})
            else:
                plans.append({"model": "delivered", "from": start})
            if i % 5 == 1 and len(own_types) > 1:  # a lead-type override
                plans.append({"model": "flat", "price": "6.50", "lead_type": own_types[1], "from": start})
            if i % 6 == 2:  # a profile override
                plans.append({"model": "flat", "price": "5.75", "profile": profiles[0], "from": start})
            if i == 4:  # a price change in the middle of the billed month
                mid = last.first_day + timedelta(days=14)
                plans.append({"model": "flat", "price": "3.60", "from": mid.isoformat()})
            partner: dict[str, Any] = {
                "code": code,
                "name": name,
                "roles": ["buyer"],
                "contact": {"name": rng.choice(["Dana Miller", "Chris Okafor", "Sam Weber", "Alex Novak"]),
                            "email": f"billing@{code}.example"},
                "billing_emails": [f"ap@{code}.example"],
                "address": {"line1": f"{100 + i * 7} Commerce Street", "country": country,
                            **_place(rng.choice(US_PLACES if country == "US" else DE_PLACES), i)},
                "tax_id": demo_tax_id(country, rng.randrange(10**8, 10**9)),
                "payment_terms_days": rng.choice([15, 30, 30, 45]),
                "billing_mode": "credit",
                "returns": {"allowed": True, "max_age_days": 30, "max_share": 15, "auto_accept": i % 2 == 0},
                "report_fields": ["state", "zip"],
                "profiles": [{"code": p, "name": f"{p.split('-')[-1].upper()} campaign"} for p in profiles],
                "plans": plans,
            }  # fmt: skip
            if country == "US":
                partner["peppol_id"] = f"0060:{rng.randrange(10**8, 10**9)}"
            if slug_ == "acme-eu" and i == 5:  # an EU customer abroad: reverse charge, no German VAT
                partner["address"].update(
                    {"line1": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}
                )
                partner["tax_id"] = demo_tax_id("FR", rng.randrange(10**10, 10**11))
                partner["tax_rate"] = "0"
            if slug_ == "acme-us" and i == 3:
                partner["billing_mode"] = "prepay"
                partner["low_balance_alert"] = "500.00"
            if slug_ == "acme-us" and i == 7:
                partner["caps"] = {"daily": 22, "monthly": 600}
            if slug_ == "acme-us" and i == 19:
                partner["active"] = False
            if i % 3 == 0 and partner["billing_mode"] == "credit":
                partner["credit_limit"] = "25000.00"
            partners.append(partner)
            buyers.append(BuyerPlan(code, slug_, currency, own_types, profiles, model == "delivered",
                                    weight=0.3 + rng.random() * 1.7))  # fmt: skip
        for name in SUPPLIERS if slug_ == "acme-us" else []:
            code = slug(name)
            partners.append({
                "code": code, "name": name, "roles": ["supplier"],
                "contact": {"name": "Jordan Lee", "email": f"payouts@{code}.example"},
                "address": {"line1": "9 Affiliate Way", "postal_code": "94105", "city": "San Francisco", "region": "CA",
                            "country": "US"},
                "plans": [{"model": "flat", "side": "buy", "price": "0.90", "from": "2026-01-01"}],
            })  # fmt: skip
        entities.append(
            {
                "slug": slug_,
                "legal_name": legal,
                "address": {
                    "line1": "500 Market Street" if country == "US" else "Jungfernstieg 1",
                    "postal_code": "10001" if country == "US" else "20354",
                    "city": "New York" if country == "US" else "Hamburg",
                    **({"region": "NY"} if country == "US" else {}),
                    "country": country,
                },
                "tax_id": "98-7654321" if country == "US" else "DE811223345",
                **({"peppol_id": "0060:123456789"} if country == "US" else {}),
                "email": f"billing@{slug_}.example",
                "phone": "+1 212 555 0100" if country == "US" else "+49 40 555 0100",
                **(
                    {
                        "payment_accounts": [
                            {
                                "currency": "USD",
                                "account_name": legal,
                                "bank_name": "JPMorgan Chase Bank, N.A.",
                                "ach_routing": "021000021",
                                "ach_account": "000123456789",
                                "wire_routing": "021000021",
                                "bic": "CHASUS33",
                            }
                        ],
                        "remit_to": f"{legal}\nPO Box 4410\nNew York, NY 10008",
                    }
                    if country == "US"
                    else {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
                ),
                "logo": f"{slug_}.svg",
                "invoice_footer": f"{legal} · {'New York' if country == 'US' else 'Amtsgericht Hamburg HRB 123456'}",
                "currency": currency,
                "timezone": tz,
                "locale": "en_US" if country == "US" else "de_DE",
                "invoice_prefix": prefix,
                "credit_note_prefix": f"{prefix}CN-",
                "payment_terms_days": 30,
                "tax_rate": tax,
                "lead_types": [{"code": c, "name": n} for c, n in types],
                "partners": partners,
            }
        )
    return {"version": 1, "entities": entities}, buyers


def setup_yaml(history: Period, last: Period) -> tuple[str, list[BuyerPlan]]:
    document, buyers = setup_document(history, last)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True), buyers


COLUMNS = ["external_id", "partner", "profile", "lead_type", "lead_id", "delivered_at", "price", "currency",
           "source", "cost", "lead.state", "lead.zip", "lead.email"]  # fmt: skip


def delivery_rows(buyers: list[BuyerPlan], start: datetime, end: datetime, count: int, *, seed: int,
                  prefix: str = "dl") -> Iterator[list[str]]:  # fmt: skip
    """`count` deliveries spread over [start, end), weighted per buyer, in time order."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    weights = [b.weight for b in buyers]
    suppliers = [slug(s) for s in SUPPLIERS]
    offsets = sorted(rng.random() * span for _ in range(count))
    last_lead: dict[str, str] = {}
    for n, offset in enumerate(offsets):
        b = rng.choices(buyers, weights)[0]
        at = (start + timedelta(seconds=offset)).astimezone(UTC)
        state = rng.choice(STATES)
        lead_id = f"L{seed}{n:07d}"
        if b.code in last_lead and rng.random() < 0.002:  # the same lead sold twice to one buyer
            lead_id = last_lead[b.code]
        last_lead[b.code] = lead_id
        price = f"{Decimal(rng.randrange(500, 3500)) / 100}" if b.delivered_price else ""
        currency = b.currency
        if b.code == "blue-river-insurance" and rng.random() < 0.003:
            currency = "EUR"  # a misconfigured feed: flagged, not billed
        source = rng.choice(suppliers) if b.entity == "acme-us" and rng.random() < 0.4 else ""
        yield [
            f"{prefix}-{seed}-{n:07d}", b.code, rng.choice(b.profiles) if rng.random() < 0.8 else "",
            rng.choice(b.lead_types), lead_id, at.isoformat(timespec="seconds"), price, currency,
            source, "0.90" if source else "", state, f"{rng.randrange(10000, 99999)}",
            f"lead{n}@mail.example",
        ]  # fmt: skip


def csv_text(rows: Iterator[list[str]]) -> io.StringIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    out.seek(0)
    return out


def months_before(today: date) -> tuple[date, date]:
    """First days of the month before last, and of last month."""
    last_first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    history_first = (last_first - timedelta(days=1)).replace(day=1)
    return history_first, last_first


def demo_tax_id(country: str, seed: int) -> str:
    """A made-up tax id that passes `country`'s rules (check digits included), from a random number."""
    digits = f"{seed % 10**9:09d}"
    if country == "US":  # an EIN: two-digit campus prefix, seven digits
        prefix = digits[:2] if us_ein.is_valid(f"{digits[:2]}-{digits[2:]}") else "12"
        return f"{prefix}-{digits[2:]}"
    if country == "FR":  # FR, two key digits, a SIREN (Luhn)
        siren = digits[:8] + luhn.calc_check_digit(digits[:8])
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    return f"DE{digits[:8]}{mod_11_10.calc_check_digit(digits[:8])}"
