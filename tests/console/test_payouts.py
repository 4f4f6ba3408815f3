"""Payouts and self-billing in the console: through the pages, down to the services' effects."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.agreement import VERSION as AGREEMENT_VERSION
from leadbill.selfbilling.models import SelfBilledDocument
from tests.payouts.conftest import ACTOR, COMPLETE, MAIN, World, compute, make_supplier, opt_in, ready, supply
from tests.webworld import STAFF, Site

OCTOBER = periods.month(2026, 10, "UTC")  # the site's entity keeps UTC; October 2026 is over
NOVEMBER = periods.month(2026, 11, "UTC")
SWITCH_WORDING = "Allow partners to opt in to self-invoicing and generate invoices on ready payouts automatically"


@pytest.fixture
def world(site: Site) -> World:
    """Lead Garden sold the site 30 October leads resold to Acme: 25 on its buy plan (4.00), 5 at a cost of 6.50."""
    supplier = make_supplier(site.entity)
    leads = supply(supplier, site.acme, 25, datetime(2026, 10, 5, 9, tzinfo=UTC))
    leads += supply(supplier, site.acme, 5, datetime(2026, 10, 20, 9, tzinfo=UTC), cost="6.50")
    return World(site.entity, site.acme, supplier, leads)


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


@pytest.fixture
def admin(site: Site):
    return site.login(STAFF["admin"])


def text(response) -> str:
    return html.unescape(response.content.decode())


def url(path: str = "") -> str:
    return f"/console/leadco/payouts/{path}"


def move(client, payout: Payout, to: str, **form: str):
    return client.post(url(f"{payout.pk}/status/"), {"to": to, **form}, follow=True)


def test_the_payout_list_filters_and_runs_a_bounded_number_of_queries(
    site: Site, world: World, finance, django_assert_max_num_queries
):
    compute(world, OCTOBER)
    for n in range(12):
        supplier = make_supplier(site.entity, code=f"supplier-{n}", name=f"Supplier {n}")
        supply(supplier, site.acme, 2, datetime(2026, 10, 7, tzinfo=UTC))
        ready(s.payout_compute(actor="t", entity=site.entity, period=OCTOBER, partners=[supplier]).created[0])
    # session, user, membership, suppliers, payouts, and for the drafts' tax: agreements, profiles, line sums
    with django_assert_max_num_queries(9):
        page = finance.get(url())
    assert page.status_code == 200 and len(page.context["rows"]) == 13
    assert "Lead Garden" in text(page) and "Supplier 11" in text(page)
    drafts = finance.get(url(), {"status": "draft"}).context["rows"]
    assert [p.partner.code for p in drafts] == ["lead-garden"]
    assert [p.partner.code for p in finance.get(url(), {"partner": "supplier-3"}).context["rows"]] == ["supplier-3"]
    assert finance.get(url(), {"period": "2026-09"}).context["rows"] == []


def test_the_payout_list_pages_by_keyset(site: Site, finance, monkeypatch):
    from leadbill.console.views import invoices

    monkeypatch.setattr(invoices, "PAGE", 2)
    supplier = make_supplier(site.entity)
    for month in range(1, 6):
        s.payout_create(actor="t", partner=supplier, period=periods.month(2026, month, "UTC"),
                        lines=[s.ManualLine("Commission", 1, Decimal("10.00"))])  # fmt: skip
    seen, next_url = [], url()
    while next_url:
        page = finance.get(next_url if next_url.startswith("/") else url() + next_url)
        seen += [p.period_key for p in page.context["rows"]]
        next_url = page.context["next_url"]
    assert seen == ["2026-05", "2026-04", "2026-03", "2026-02", "2026-01"]


def test_computing_a_period_from_the_console_creates_payouts_and_says_what_it_did(site: Site, world: World, finance):
    page = text(finance.post(url("compute/"), {"period": "2026-10"}, follow=True))
    payout = Payout.objects.get(partner=world.supplier, period_key="2026-10")
    assert (payout.status, payout.amount_minor, payout.leads_paid) == ("draft", 13_250, 30)
    assert "Payouts for 2026-10: 1 created; 0 refreshed." in page
    move(finance, payout, "pending")
    supply(world.supplier, site.acme, 1, datetime(2026, 10, 31, tzinfo=UTC))  # late: for a later payout
    again = text(finance.post(url("compute/"), {"period": "2026-10", "partner": "lead-garden"}, follow=True))
    assert "0 created; 0 refreshed; 1 kept as they are (past draft: lead-garden pending)" in again
    november = text(finance.post(url("compute/"), {"period": "2026-09"}, follow=True))
    assert "1 supplier with nothing to pay (lead-garden)" in november


def test_an_open_period_is_computed_only_when_ticked(site: Site, world: World, finance):
    from leadbill.invoicing.services import today_in

    current = f"{today_in(site.entity):%Y-%m}"
    refused = text(finance.post(url("compute/"), {"period": current}, follow=True))
    assert "Not computed: " in refused and "has not ended yet" in refused
    assert not Payout.objects.exists()
    finance.post(url("compute/"), {"period": current, "allow_open_period": "on"})
    assert Payout.objects.filter(period_key=current).count() == 1


def test_unreadable_periods_and_unknown_suppliers_are_refused_with_the_reason(site: Site, world: World, finance):
    assert "Not computed: period: cannot read period" in text(
        finance.post(url("compute/"), {"period": "October"}, follow=True)
    )
    assert "Not computed: partner: no partner 'nobody'" in text(
        finance.post(url("compute/"), {"period": "2026-10", "partner": "nobody"}, follow=True)
    )
    assert "does not supply leads" in text(
        finance.post(url("compute/"), {"period": "2026-10", "partner": "acme"}, follow=True)
    )
    assert not Payout.objects.exists()


def test_from_draft_to_paid_with_a_self_invoice_whose_files_download(site: Site, world: World, finance):
    opt_in(world)
    payout = compute(world, OCTOBER)
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "When this payout is ready, a self-invoice is issued" in detail
    assert "Leads supplied — Auto — flat" in detail and "Leads supplied — Auto — recorded cost" in detail
    assert "Submit for review" in detail and "Approve" not in detail
    assert "Payout " in text(move(finance, payout, "pending")) and Payout.objects.get(pk=payout.pk).status == "pending"
    approved = text(move(finance, payout, "ready"))
    doc = SelfBilledDocument.objects.get(payout=payout)
    assert f"is ready. Self-billed: {doc.number}." in approved
    assert (doc.role, doc.total_minor) == ("invoice", 15_768)
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert doc.number in detail and "389" in detail and "Generate self-invoice" not in detail
    assert "€157.68" in detail and "€25.18" in detail  # to pay: 132.50 net + 19 % tax
    pdf = finance.get(f"/console/leadco/self-billed/{doc.pk}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Type"] == "application/pdf"
    ubl = finance.get(f"/console/leadco/self-billed/{doc.pk}/einvoice", {"format": "ubl"})
    assert ubl.status_code == 200 and b"<cbc:InvoiceTypeCode>389</cbc:InvoiceTypeCode>" in ubl.content
    assert finance.get(f"/console/leadco/self-billed/{doc.pk}/einvoice", {"format": "pdf"}).status_code == 400
    paid = text(move(finance, payout, "paid", reference="SEPA 2026-11-03", paid_on="2026-11-03"))
    assert "is paid." in paid
    payout.refresh_from_db()
    assert (payout.status, payout.paid_reference) == ("paid", "SEPA 2026-11-03")
    history = text(finance.get(url(f"{payout.pk}/")))
    for action in ("payout.computed", "payout.pending", "payout.ready", "self_invoice.issued", "payout.paid"):
        assert action in history
    assert "SEPA 2026-11-03" in history


def test_a_ready_payout_says_why_it_has_no_self_invoice_until_one_is_generated(site: Site, world: World, finance):
    payout = ready(compute(world, OCTOBER))
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "No self-invoice for this payout." in detail
    assert f"Self-billing is switched off for {site.entity.legal_name}." in detail
    refused = text(finance.post(url(f"{payout.pk}/self-invoice/"), follow=True))
    assert f"No self-invoice: Self-billing is switched off for {site.entity.legal_name}." in refused
    opt_in(world)  # opting in catches the ready payout up: its self-invoice is made there and then
    doc = SelfBilledDocument.objects.get(payout=payout)
    assert doc.number in text(finance.get(url(f"{payout.pk}/")))
    assert finance.get(f"/console/leadco/self-billed/{doc.pk}/pdf").content.startswith(b"%PDF")
    again = text(finance.post(url(f"{payout.pk}/self-invoice/"), follow=True))
    assert "already has its self-billed documents" in again
    assert SelfBilledDocument.objects.filter(payout=payout).count() == 1


def test_cancelling_needs_a_reason_and_reverses_the_self_invoice(site: Site, world: World, finance):
    opt_in(world)
    payout = ready(compute(world, OCTOBER))
    refused = text(move(finance, payout, "cancelled", reason=" "))
    assert "Not changed: reason: say why the payout is cancelled" in refused
    assert Payout.objects.get(pk=payout.pk).status == "ready"
    done = text(move(finance, payout, "cancelled", reason="wrong cost file"))
    reversal = SelfBilledDocument.objects.get(payout=payout, role="invoice_reversal")
    assert f"is cancelled. Reversed by {reversal.number}." in done
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "Cancelled: wrong cost file" in detail and "261" in detail


def test_moves_the_lifecycle_forbids_are_messages_not_errors(site: Site, world: World, finance):
    payout = compute(world, OCTOBER)
    skipped = move(finance, payout, "ready")
    assert skipped.status_code == 200 and "Not changed: the payout is draft; it can go to pending or cancelled" in text(
        skipped
    )
    assert "unknown payout status 'archived'" in text(move(finance, payout, "archived"))
    assert Payout.objects.get(pk=payout.pk).status == "draft"


def test_a_payout_by_hand_from_its_form(site: Site, world: World, finance):
    form = {"partner": "lead-garden", "period": "2026-11", "note": "autumn campaign",
            "description_0": "October commission", "quantity_0": "1", "price_0": "250.00",
            "description_2": "Bonus leads", "quantity_2": "3", "price_2": "2.125"}  # fmt: skip
    response = finance.post(url("new/"), form)
    payout = Payout.objects.get(partner=world.supplier, period_key="2026-11")
    assert response.status_code == 302 and response["Location"] == url(f"{payout.pk}/")
    assert (payout.origin, payout.amount_minor, payout.note) == ("manual", 25_638, "autumn campaign")  # 6.375 → 6.38
    assert [(line.description, line.quantity) for line in payout.lines.all()] == [
        ("October commission", 1),
        ("Bonus leads", 3),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price_2": "2,50"}, "line 3 unit price: '2,50' is not a properly formatted decimal number"),  # en_US
        ({"quantity_2": "0"}, "line 3 quantity: a quantity from 1 to 10,000,000"),
        ({"description_2": ""}, "line 3 description: say what the line pays for"),
        ({"quantity_2": "12345678"}, "line 3 quantity: a whole number of at most 1,000,000"),
        ({"period": "next month"}, "cannot read period"),
        ({"currency": "EURO"}, "Ensure this value has at most 3 characters"),
    ],
)
def test_a_payout_by_hand_names_what_is_wrong_and_keeps_the_input(site: Site, world: World, finance, change, message):
    form = {"partner": "lead-garden", "period": "2026-11", "description_0": "October commission", "quantity_0": "1",
            "price_0": "250.00", "description_2": "Bonus leads", "quantity_2": "3", "price_2": "2.50", **change}  # fmt: skip
    response = finance.post(url("new/"), form)
    page = text(response)
    assert response.status_code == 200 and message in page
    assert 'value="October commission"' in page
    assert not Payout.objects.exists()


def test_a_second_payout_by_hand_for_the_same_period_is_refused(site: Site, world: World, finance):
    form = {"partner": "lead-garden", "period": "2026-11", "description_0": "Commission", "quantity_0": "1",
            "price_0": "10"}  # fmt: skip
    finance.post(url("new/"), form)
    page = text(finance.post(url("new/"), form))
    assert "Not created: lead-garden already has a payout for 2026-11 in EUR" in page
    assert Payout.objects.count() == 1


def test_read_only_staff_see_payouts_but_cannot_change_them(site: Site, world: World):
    reader = site.login(STAFF["readonly"])
    payout = compute(world, OCTOBER)
    page = text(reader.get(url(f"{payout.pk}/")))
    assert "Submit for review" not in page and "Generate self-invoice" not in page
    assert "Compute payouts" not in text(reader.get(url()))
    assert reader.post(url(f"{payout.pk}/status/"), {"to": "pending"}).status_code == 403
    assert reader.post(url("compute/"), {"period": "2026-10"}).status_code == 403
    assert reader.post(url(f"{payout.pk}/self-invoice/")).status_code == 403
    assert reader.post(url("new/"), {"partner": "lead-garden"}).status_code == 403
    assert Payout.objects.get(pk=payout.pk).status == "draft" and Payout.objects.count() == 1


def test_another_entitys_payouts_and_documents_are_not_found(site: Site, finance):
    other = World(site.other, site.other_acme, make_supplier(site.other, code="other-supplier"), [])
    other.leads = supply(other.supplier, site.other_acme, 2, datetime(2026, 10, 5, tzinfo=UTC))
    opt_in(other)
    payout = ready(compute(other, OCTOBER))
    doc = SelfBilledDocument.objects.get(payout=payout)
    upload_payout = s.payout_create(actor=ACTOR, partner=other.supplier, period=NOVEMBER,
                                    lines=[s.ManualLine("x", 1, Decimal(1))])  # fmt: skip
    s.payout_transition(actor=ACTOR, payout=upload_payout, to="pending")
    upload = sbs.supplier_invoice_upload(actor=ACTOR, payout=upload_payout, name="own.pdf", content=b"%PDF-1.7 x")
    for path in (url(f"{payout.pk}/"), f"/console/leadco/self-billed/{doc.pk}/pdf",
                 f"/console/leadco/supplier-invoices/{upload.pk}/"):  # fmt: skip
        assert finance.get(path).status_code == 404, path
    assert finance.post(url(f"{payout.pk}/status/"), {"to": "paid"}).status_code == 404


def test_the_partners_own_invoice_downloads_from_the_payout(site: Site, world: World, finance):
    payout = ready(compute(world, OCTOBER))
    upload = sbs.supplier_invoice_upload(actor="user:owner@leadgarden.example", payout=payout, name="RE-118.pdf",
                                       content=b"%PDF-1.7 partner's own", reference="RE-118")  # fmt: skip
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "RE-118.pdf" in detail and "The partner uploaded its own invoice for this payout." in detail
    assert "Generate self-invoice" not in detail
    file = finance.get(f"/console/leadco/supplier-invoices/{upload.pk}/")
    assert file.content == b"%PDF-1.7 partner's own" and file["Content-Type"] == "application/pdf"
    assert file["Content-Disposition"] == 'attachment; filename="RE-118.pdf"'


def test_an_admin_switches_self_billing_on_and_off(site: Site, admin):
    page = text(admin.get("/console/leadco/self-billing/"))
    assert SWITCH_WORDING in page and "billing details are the buyer details on every self-invoice" in page
    on = text(admin.post("/console/leadco/self-billing/switch/", {"self_billing": "on"}, follow=True))
    assert "Self-billing is on" in on and Entity.objects.get(pk=site.entity.pk).self_billing
    asked = text(admin.post("/console/leadco/self-billing/switch/", {}))
    assert "Turn self-billing off?" in asked and "0 suppliers opted in are affected" in asked
    assert Entity.objects.get(pk=site.entity.pk).self_billing  # not until confirmed
    off = text(admin.post("/console/leadco/self-billing/switch/", {"confirmed": "yes"}, follow=True))
    assert not Entity.objects.get(pk=site.entity.pk).self_billing and "Self-billing is off" in off


def test_finance_reads_the_self_billing_page_but_cannot_switch(site: Site, finance):
    page = text(finance.get("/console/leadco/self-billing/"))
    assert SWITCH_WORDING in page and "Only an admin can change this." in page
    assert finance.post("/console/leadco/self-billing/switch/", {"self_billing": "on"}).status_code == 403
    assert not Entity.objects.get(pk=site.entity.pk).self_billing


def test_the_self_billing_page_lists_each_suppliers_agreement(
    site: Site, world: World, finance, django_assert_max_num_queries
):
    opt_in(world)
    sbs.self_billing_opt_out(actor="t", partner=world.supplier, signer=MAIN)
    sbs.self_billing_opt_in(actor="t", partner=world.supplier, signer=MAIN, accepted=True)
    for n in range(10):
        make_supplier(site.entity, code=f"quiet-{n}", name=f"Quiet {n}")
    with django_assert_max_num_queries(7):  # three reads for any number of suppliers
        response = finance.get("/console/leadco/self-billing/")
    page = text(response)
    assert "opted in" in page and "owner@leadgarden.example" in page and "203.0.113.7" in page
    assert "1 earlier record" in page and AGREEMENT_VERSION in page
    assert "1 of 11 suppliers opted in, 1 with complete details" in page
    assert "Quiet 9" in page and "not opted in" in page


def test_the_partner_page_shows_a_suppliers_self_billing(site: Site, world: World, finance):
    page = text(finance.get("/console/leadco/partners/lead-garden/"))
    assert "Self-billing" in page and "not opted in" in page and "switched off for" in page
    assert "/console/leadco/payouts/?partner=lead-garden" in page
    opt_in(world, {**COMPLETE, "tax_id": ""})
    page = text(finance.get("/console/leadco/partners/lead-garden/"))
    assert "opted in" in page and f"version {AGREEMENT_VERSION}" in page and "missing: tax id" in page
    assert 'id="self-billing"' not in text(finance.get("/console/leadco/partners/acme/"))  # a buyer only


def test_turning_self_billing_off_asks_first_and_names_the_opted_in_suppliers(site: Site, world: World, admin):
    opt_in(world)
    page = text(admin.get("/console/leadco/self-billing/"))
    assert "1 supplier opted in; turning it off asks you to confirm." in page
    asked = text(admin.post("/console/leadco/self-billing/switch/", {}))
    assert "Turn self-billing off?</strong> 1 supplier opted in is affected" in asked
    assert "Turn off for 1 supplier" in asked and Entity.objects.get(pk=site.entity.pk).self_billing
    done = text(admin.post("/console/leadco/self-billing/switch/", {"confirmed": "yes"}, follow=True))
    assert "no new self-invoices are made for the 1 supplier who opted in" in done
    assert not Entity.objects.get(pk=site.entity.pk).self_billing


def test_no_generate_action_while_self_billing_is_off(site: Site, world: World, admin, finance):
    opt_in(world)
    admin.post("/console/leadco/self-billing/switch/", {"confirmed": "yes"})
    payout = ready(compute(world, OCTOBER))
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "Generate self-invoice" not in detail and "Self-billing is off: turn it on under Self-billing" in detail
    refused = text(finance.post(url(f"{payout.pk}/self-invoice/"), follow=True))
    assert "No self-invoice: Self-billing is switched off" in refused
    assert not SelfBilledDocument.objects.filter(payout=payout).exists()


def test_a_pending_payout_shows_net_tax_and_total_as_ready_will(site: Site, world: World, finance):
    opt_in(world, tax_rate="7.5")
    payout = compute(world, OCTOBER)
    move(finance, payout, "pending")
    pending = finance.get(url()).context["rows"][0].shown
    detail = text(finance.get(url(f"{payout.pk}/")))
    assert "To pay when ready" in detail and "at 7.50%, the supplier's rate" in detail
    move(finance, payout, "ready")
    at_ready = finance.get(url()).context["rows"][0].shown
    assert (pending.net_minor, pending.tax_minor, pending.total_minor) == (
        at_ready.net_minor, at_ready.tax_minor, at_ready.total_minor
    ) and pending.tax_minor > 0  # fmt: skip


def test_the_payout_list_of_many_drafts_reads_no_query_per_row(
    site: Site, world: World, finance, django_assert_max_num_queries
):
    opt_in(world)
    for n in range(15):
        supplier = make_supplier(site.entity, code=f"draft-{n}", name=f"Draft {n}")
        sbs.seller_details_set(actor=ACTOR, partner=supplier, details=COMPLETE, tax_rate="19")
        sbs.self_billing_opt_in(actor=ACTOR, partner=supplier, signer=MAIN, accepted=True)
        s.payout_create(actor=ACTOR, partner=supplier, period=OCTOBER, lines=[s.ManualLine("Bonus", 2, Decimal("5"))])
    with django_assert_max_num_queries(9):
        page = finance.get(url())
    rows = page.context["rows"]
    assert len(rows) == 15 and all(r.shown.tax_minor == 190 and r.shown.total_minor == 1190 for r in rows)
