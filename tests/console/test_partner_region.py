"""Issue 18: the partner form takes the state or province, checked like the set-up file, and the page prints it."""

from __future__ import annotations

import html

from leadbill.partners.models import Partner
from tests.webworld import STAFF, Site


def test_the_partner_form_saves_a_us_state_as_its_code_and_names_a_wrong_one(site: Site):
    finance = site.login(STAFF["finance"])
    form = {"code": "crane", "name": "Crane Leads", "billing_mode": "credit", "active": "on", "is_buyer": "on",
            "line1": "1 Main St", "postal_code": "10001", "city": "New York", "region": "new york",
            "country": "US"}  # fmt: skip
    response = finance.post("/console/leadco/partners/new/", form)
    assert response.status_code == 302, response.context["form"].errors
    assert Partner.objects.get(entity=site.entity, code="crane").region == "NY"
    page = html.unescape(finance.get("/console/leadco/partners/crane/").content.decode())
    assert "New York, NY 10001" in page
    bad = finance.post("/console/leadco/partners/crane/edit/", {**form, "region": "Gotham"})
    assert bad.status_code == 200 and "'Gotham' is not a US state" in html.unescape(bad.content.decode())
    assert 'id="id_region_error"' in bad.content.decode()
    assert Partner.objects.get(entity=site.entity, code="crane").region == "NY"
