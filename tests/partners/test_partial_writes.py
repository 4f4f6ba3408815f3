"""A partner write changes only what it carries: a form never resets what it does not show.

Regressions of the 2026-12-04 review: saving the console edit form or the portal account page
untouched reset a EUR partner's currency to the entity's, emptied its Peppol id and cleared its
report fields; a GET then PUT of a partner with no contact email failed.
"""

from __future__ import annotations

import json

import pytest

from leadbill.console.forms import PartnerForm
from leadbill.partners.models import Partner
from leadbill.partners.selectors import partner_as_dict
from leadbill.portal.views import ACCOUNT_FIELDS
from tests.factories import make_partner
from tests.webworld import ACME_USER, STAFF, Site

KEPT = {"currency": "USD", "peppol_id": "0088:5790000435968", "report_fields": ["zip", "state"]}


def browser_post(form_fields, initial):
    """The form as a browser submits it untouched: every shown field with its value, checkboxes only when on."""
    data = {}
    for name in form_fields:
        value = initial.get(name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else str(value)
    return data


def kept(partner: Partner) -> dict[str, object]:
    partner.refresh_from_db()
    return {"currency": partner.currency, "peppol_id": partner.peppol_id, "report_fields": partner.report_fields}


@pytest.fixture
def usd_partner(site: Site) -> Partner:
    """A USD buyer of a EUR entity, with a Peppol id and report fields the edit form does not show."""
    return make_partner(site.entity, code="yankee", name="Yankee Leads", **KEPT)


def test_saving_the_console_edit_form_untouched_keeps_what_it_does_not_show(site: Site, usd_partner):
    finance = site.login(STAFF["finance"])
    initial = PartnerForm.initial_from(partner_as_dict(usd_partner), "en_US")
    response = finance.post("/console/leadco/partners/yankee/edit/", browser_post(PartnerForm.base_fields, initial))
    assert response.status_code == 302, response.content.decode()[:1500]
    assert kept(usd_partner) == KEPT


def test_the_console_edit_form_changes_what_it_shows_and_clears_an_emptied_field(site: Site, usd_partner):
    finance = site.login(STAFF["finance"])
    initial = PartnerForm.initial_from(partner_as_dict(usd_partner), "en_US")
    data = browser_post(PartnerForm.base_fields, initial) | {"name": "Yankee Leads LLC", "contact_phone": ""}
    Partner.objects.filter(pk=usd_partner.pk).update(contact_phone="+1 212 555 0100")
    assert finance.post("/console/leadco/partners/yankee/edit/", data).status_code == 302
    usd_partner.refresh_from_db()
    assert (usd_partner.name, usd_partner.contact_phone) == ("Yankee Leads LLC", "")
    assert kept(usd_partner) == KEPT


def test_saving_the_portal_account_page_untouched_keeps_the_partners_terms(site: Site):
    Partner.objects.filter(pk=site.acme.pk).update(**KEPT)
    site.acme.refresh_from_db()
    acme = site.login(ACME_USER)
    initial = PartnerForm.initial_from(partner_as_dict(site.acme), "en_US")
    response = acme.post("/portal/account/", browser_post(ACCOUNT_FIELDS, initial))
    assert response.status_code == 302, response.content.decode()[:1500]
    assert kept(site.acme) == KEPT


@pytest.mark.django_db
def test_an_api_put_changes_only_the_keys_it_carries(world):
    partner = make_partner(world.entity, code="yankee", name="Yankee Leads", payment_terms_days=30, **KEPT)
    response = world.full.put("/partners/yankee", {"name": "Yankee Leads LLC"})
    assert response.status_code == 200, response.body
    partner.refresh_from_db()
    assert (partner.name, partner.payment_terms_days) == ("Yankee Leads LLC", 30)
    assert kept(partner) == KEPT
    cleared = world.full.put("/partners/yankee", {"payment_terms_days": None})
    assert cleared.status_code == 200, cleared.body
    partner.refresh_from_db()
    assert partner.payment_terms_days is None and kept(partner) == KEPT


@pytest.mark.django_db
def test_a_partner_read_with_an_empty_contact_email_can_be_put_back(world):
    make_partner(world.entity, code="quiet", name="Quiet Buyer", contact_email="", contact_name="", **KEPT)
    read = world.full.get("/partners/quiet")
    assert read.status_code == 200 and read.body["contact"]["email"] == ""
    again = world.full.put("/partners/quiet", {k: v for k, v in read.body.items() if k != "code"})
    assert again.status_code == 200, json.dumps(again.body)[:1500]
    assert again.body["updated"] == 0
