"""Payment files in the console: tick ready payouts, make the file, download it, mark it sent or cancel it."""

from __future__ import annotations

import html
import io
from decimal import Decimal

import pytest
from lxml import etree
from openpyxl import load_workbook

from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.payment_files.builders import sepa
from leadbill.payment_files.models import AchOriginator, PaymentFile
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from tests.payment_files.conftest import ACH, IBANS
from tests.payment_files.conftest import supplier as make_paid_supplier
from tests.webworld import STAFF, Site

OCTOBER = periods.month(2026, 10, "UTC")


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def finance(site: Site):
    return site.login(STAFF["finance"])


@pytest.fixture
def ready_payouts(site: Site) -> list[Payout]:
    Entity.objects.filter(pk=site.entity.pk).update(iban="DE89370400440532013000")
    site.entity.refresh_from_db()
    out = []
    for i in range(2):
        partner = make_paid_supplier(site.entity, f"pay{i}", {"iban": IBANS[i]})
        payout = s.payout_create(actor="t", partner=partner, period=OCTOBER,
                                 lines=[s.ManualLine("Leads", 1, Decimal(f"{100 + i}.50"))])  # fmt: skip
        s.payout_transition(actor="t", payout=payout, to="pending")
        out.append(s.payout_transition(actor="t", payout=payout, to="ready"))
    return out


def test_from_the_ready_payouts_to_a_sent_file(site: Site, finance, ready_payouts):
    listing = finance.get("/console/leadco/payouts/", {"status": "ready"})
    assert 'aria-label="Select payout #' in text(listing) and "Make payment file" in text(listing)
    made = finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": [p.pk for p in ready_payouts],
                                                                "execution_date": "2030-01-02"}, follow=True)  # fmt: skip
    file = PaymentFile.objects.get()
    assert made.redirect_chain[-1][0] == f"/console/leadco/payouts/files/{file.pk}/"
    page = text(made)
    assert f"Payment file {file.message_id} made: 2 payments." in page and "€202.00" in page.replace("\xa0", "")
    download = finance.get(f"/console/leadco/payouts/files/{file.pk}/download")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    etree.XMLSchema(etree.parse(str(sepa.SCHEMA_PATH))).assertValid(etree.fromstring(download.content))
    assert finance.get(f"/console/leadco/payouts/files/{file.pk}/download").content == download.content
    again = finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": [ready_payouts[0].pk]},
                         follow=True)  # fmt: skip
    assert f"already in payment file {file.message_id}" in text(again) and PaymentFile.objects.count() == 1
    sent = finance.post(f"/console/leadco/payouts/files/{file.pk}/sent/", {"sent_on": "2030-01-03"}, follow=True)
    assert f"{file.message_id} sent on 2030-01-03: 2 payouts paid." in text(sent)
    assert set(Payout.objects.filter(pk__in=[p.pk for p in ready_payouts]).values_list("status", "paid_reference")) == {
        ("paid", file.message_id)}  # fmt: skip
    assert "payment_file.sent" in text(sent)
    assert finance.get("/console/leadco/payouts/files/").status_code == 200


def test_bad_bank_details_are_named_and_skipping_is_a_choice(site: Site, finance, ready_payouts):
    profile = ready_payouts[1].partner.seller_profile
    type(profile).objects.filter(pk=profile.pk).update(iban="DE00000000000000000000")
    ids = [p.pk for p in ready_payouts]
    refused = text(finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": ids}, follow=True))
    assert "No payment file was made." in refused and "(pay1) iban: not a valid IBAN" in refused
    assert not PaymentFile.objects.exists()
    made = finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": ids, "skip_invalid": "on"},
                        follow=True)  # fmt: skip
    assert "Left out, as asked" in text(made) and PaymentFile.objects.get().count == 1


def test_cancelling_frees_the_payouts(site: Site, finance, ready_payouts):
    ids = [p.pk for p in ready_payouts]
    finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": ids})
    file = PaymentFile.objects.get()
    no_reason = finance.post(f"/console/leadco/payouts/files/{file.pk}/cancel/", {"reason": ""}, follow=True)
    assert "Not cancelled: reason: say why" in text(no_reason)
    finance.post(f"/console/leadco/payouts/files/{file.pk}/cancel/", {"reason": "wrong date"})
    file.refresh_from_db()
    assert file.status == "cancelled"
    finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": ids})
    assert PaymentFile.objects.filter(status="created").count() == 1


def test_the_spreadsheet_link_exports_the_listed_payouts(site: Site, finance, ready_payouts):
    response = finance.get("/console/leadco/payouts/sheet/", {"status": "ready", "format": "xlsx"})
    book = load_workbook(io.BytesIO(response.content))
    assert sorted(row[0] for row in book["Payouts"].iter_rows(min_row=2, values_only=True)) == sorted(
        p.pk for p in ready_payouts)  # fmt: skip
    csv_text = finance.get("/console/leadco/payouts/sheet/", {"format": "csv"}).content.decode()
    assert csv_text.startswith("payout,partner_code,")


def test_ach_settings_form_names_bad_fields_and_changes_only_what_it_shows(site: Site, finance):
    page = finance.post("/console/leadco/payouts/files/ach/", {**ACH, "odfi_routing": "123456789"})
    assert page.status_code == 200 and "not a valid ABA routing number" in text(page)
    assert not AchOriginator.objects.exists()
    finance.post("/console/leadco/payouts/files/ach/", ACH)
    finance.post("/console/leadco/payouts/files/ach/", {"company_name": "Leadco Pay"})
    saved = AchOriginator.objects.get(entity=site.entity)
    assert saved.company_name == "LEADCO PAY" and saved.immediate_destination == "021000021"
    assert 'for="ach-company_name"' in text(finance.get("/console/leadco/payouts/files/ach/"))


def test_a_payout_in_a_file_not_yet_sent_names_the_file_and_offers_no_payment_by_hand(
    site: Site, finance, ready_payouts
):
    payout = ready_payouts[0]
    finance.post("/console/leadco/payouts/files/new/", {"kind": "sepa", "payout": [payout.pk]})
    file = PaymentFile.objects.get()
    page = text(finance.get(f"/console/leadco/payouts/{payout.pk}/"))
    assert f'href="/console/leadco/payouts/files/{file.pk}/">{file.message_id}</a>' in page
    assert f"moves with payment file {file.message_id}" in page and 'name="to" value="paid"' not in page
    refused = finance.post(
        f"/console/leadco/payouts/{payout.pk}/status/", {"to": "paid", "reference": "wire"}, follow=True
    )
    assert f"is in payment file {file.message_id}, not yet sent" in text(refused)
    assert Payout.objects.get(pk=payout.pk).status == "ready"
    finance.post(f"/console/leadco/payouts/files/{file.pk}/sent/", {"sent_on": "2030-01-03"})
    page = text(finance.get(f"/console/leadco/payouts/{payout.pk}/"))
    assert "sent on 2030-01-03" in page and "moves with payment file" not in page
