"""Finance types a lead id into the console's search box and follows it to the invoice that billed it;
an admin with two businesses switches between them and edits the business details."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leadbill.invoicing.models import BilledLead
from leadbill.web.models import StaffMembership
from leadbill.web.services import staff_add
from tests.browser.conftest import PASSWORD, SLUG, sign_in, snap
from tests.factories import make_entity

pytestmark = pytest.mark.browser


def test_global_search_from_a_lead_id_to_its_invoice(new_page, world, shoot):
    billed = (
        BilledLead.objects.filter(invoice__entity=world.entity, invoice__status__in=["issued", "paid"], voided=False)
        .select_related("delivery", "invoice")
        .order_by("pk")
        .first()
    )
    lead, invoice = billed.delivery, billed.invoice
    page = new_page()
    sign_in(page, world.staff_email)

    box = page.get_by_role("searchbox", name=re.compile("Search lead id"))
    box.fill(lead.lead_id)
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/search/\?q={lead.lead_id}"))
    row = page.locator("table.search-hits tbody tr").filter(has_text=lead.lead_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(lead.partner.name)
    shoot(page, "search")

    # the lead opens its day in the delivery log, and the invoice link opens the invoice
    expect(row.get_by_role("link", name=lead.lead_id)).to_have_attribute(
        "href", re.compile(rf"/deliveries/\?partner={lead.partner.code}&from=")
    )
    row.get_by_role("link", name=invoice.number).click()
    expect(page).to_have_url(re.compile(rf"/console/{SLUG}/invoices/{invoice.number}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)

    # an invoice number typed in the box opens the invoice straight away
    page.get_by_role("searchbox", name=re.compile("Search lead id")).fill(invoice.number)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/invoices/{invoice.number}/$"))


def test_an_admin_of_two_businesses_switches_and_edits_the_details(new_page, world, shoot):
    admin = "ada@browser.leadbill.test"
    membership = staff_add(actor="test", entity=world.entity, email=admin, name="Ada Admin", role="admin",
                           password=PASSWORD)  # fmt: skip
    second = make_entity(slug="acme-eu", legal_name="Acme Leads Europe GmbH")
    StaffMembership.objects.create(user=membership.user, entity=second, role="readonly")
    page = new_page()
    sign_in(page, admin)
    page.goto(f"/console/{SLUG}/invoices/")
    shoot(page, "invoices")
    switcher = page.locator("details.switcher")
    switcher.locator("summary").click()
    snap(page, "header-switcher")
    switcher.get_by_role("link", name="Acme Leads Europe GmbH").click()
    expect(page).to_have_url(re.compile(r"/console/acme-eu/invoices/$"))

    page.goto(f"/console/{SLUG}/settings/details/")
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Email and invitations"))
    form.get_by_label("Sender name").fill("Acme Billing")
    form.get_by_label("Sender address").fill("not an address")
    form.get_by_role("button", name="Save email and invitations").click()
    expect(page.get_by_role("alert")).to_contain_text("Sender address: not an e-mail address")
    expect(form.get_by_label("Sender name")).to_have_value("Acme Billing")  # what was typed stays
    snap(page, "entity-details-error")
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Email and invitations"))
    form.get_by_label("Sender address").fill("billing@acme.example")
    form.get_by_role("button", name="Save email and invitations").click()
    expect(page.locator(".messages")).to_contain_text("Email and invitations: saved")
    world.entity.refresh_from_db()
    assert (world.entity.mail_from_name, world.entity.mail_from_address) == ("Acme Billing", "billing@acme.example")
    shoot(page, "entity-details")

    page.goto(f"/console/{SLUG}/audit/")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("billing@acme.example")
    shoot(page, "audit")
    page.goto(f"/console/{SLUG}/")
    expect(page.locator(".chart rect.bar")).to_have_count(12)
    shoot(page, "dashboard")
