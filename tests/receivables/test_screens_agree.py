"""Every screen shows the same open amount for the same partner: console, portal, dashboard, API, CLI."""

from __future__ import annotations

import html
import re
from datetime import date

from leadbill.api.keys import api_key_create
from leadbill.invoicing.selectors import invoice_as_dict
from leadbill.invoicing.services import payment_record
from leadbill.receivables import services as ledger
from leadbill.receivables.selectors import partner_accounts
from tests.webworld import ACME_USER, STAFF, Site

ACTOR = "test:finance"


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


def test_console_portal_dashboard_api_and_cli_agree_on_what_acme_owes(site: Site):
    inv = site.acme_invoice
    payment_record(actor=ACTOR, invoice=inv, amount_minor=150, paid_on=date(2026, 2, 3), reference="part")
    payment = payment_record(actor=ACTOR, invoice=inv, amount_minor=100, paid_on=date(2026, 2, 4))
    ledger.payment_reverse(actor=ACTOR, payment=payment, reason="bounced")
    account = partner_accounts(site.acme)["EUR"]
    expected = account.open_minor
    assert expected == inv.total_minor - 150 and account.balance_minor == expected
    shown = f"€{expected / 100:,.2f}"

    finance = site.login(STAFF["finance"])
    invoice_page = page(finance, f"/console/leadco/invoices/{inv.number}/")
    assert re.search(r"Balance due</div><div class=\"value\">" + re.escape(shown), invoice_page)
    assert shown in page(finance, "/console/leadco/invoices/?status=open")
    assert shown in page(finance, "/console/leadco/partners/")
    dashboard = page(finance, "/console/leadco/")
    assert shown in dashboard

    portal = site.login(ACME_USER)
    assert re.search(r"Open</div><div class=\"value\">" + re.escape(shown), page(portal, "/portal/"))

    token = api_key_create(actor=ACTOR, entity=site.entity, name="agree", scope="full").token
    body = finance.get(f"/api/v1/invoices/{inv.number}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["balance_due"] == f"{expected / 100:.2f}" and body["status"] == "partially_paid"
    assert invoice_as_dict(inv)["balance_due"] == f"{expected / 100:.2f}"
    invoice_in_portal = page(portal, f"/portal/invoices/{inv.number}/")
    assert re.search(r"Still to pay</div><div class=\"value\">" + re.escape(shown), invoice_in_portal)
