"""The supplier's portal: the self-billing onboarding step, opt-in and out, payouts and their documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leadbill.payouts import services as s
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import Agreement, SellerProfile, SupplierInvoice
from leadbill.web.models import PartnerUser
from tests.payouts.conftest import ACTOR, COMPLETE, LOGO, compute, make_supplier, opt_in, ready, supply
from tests.webworld import ACME_USER

pytestmark = pytest.mark.django_db


def portal_user(partner, email: str, *, main: bool) -> Client:
    user = User.objects.create_user(username=email, email=email, password="orchard-lantern-42")
    PartnerUser.objects.create(user=user, partner=partner, is_main_contact=main, invited_by=ACTOR)
    client = Client(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Firefox/140")
    client.force_login(user)
    return client


@pytest.fixture
def owner(world):
    return portal_user(world.supplier, "owner@leadgarden.example", main=True)


def form_data(**extra):
    return {**COMPLETE, "tax_rate": "19", "number_prefix": "LG-", "footer": "Lead Garden GmbH · HRB 4711", **extra}


def test_main_contact_is_led_to_the_onboarding_step_and_opts_in_there(world, owner):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    assert owner.get("/portal/").url == "/portal/onboarding/self-billing/"
    page = owner.get("/portal/onboarding/self-billing/")
    assert page.status_code == 200 and b"Self-billing agreement (version 2026-12)" in page.content
    assert b"Lead Garden" in page.content  # the form starts from the partner's known details
    logo = ("logo.svg", LOGO, "image/svg+xml")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = owner.post("/portal/onboarding/self-billing/", {
        **form_data(), "action": "opt_in", "accept": "on", "version": "2026-12",
        "logo": SimpleUploadedFile(*logo),
    })  # fmt: skip
    assert response.status_code == 302 and response.url == "/portal/payouts/"
    agreement = Agreement.objects.get(partner=world.supplier)
    assert (agreement.accepted_by, agreement.accepted_from, agreement.via, agreement.user_agent) == (
        "owner@leadgarden.example",
        "198.51.100.23",
        "onboarding",
        "Firefox/140",
    )
    profile = SellerProfile.objects.get(partner=world.supplier)
    assert (profile.tax_rate_bp, profile.number_prefix, profile.decided_at is not None) == (1900, "LG-", True)
    assert profile.logo_sha256
    assert owner.get("/portal/").url == "/portal/payouts/"  # the step is done: a supplier's home again


def test_opting_in_without_accepting_the_agreement_is_refused_but_keeps_the_details(world, owner):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    response = owner.post("/portal/account/self-billing/", {**form_data(), "action": "opt_in"})
    assert response.status_code == 400 and b"accept the self-billing agreement to opt in" in response.content
    assert not Agreement.objects.exists() and SellerProfile.objects.get(partner=world.supplier).tax_id == "DE287654324"


def test_wrong_fields_are_named_on_the_form_and_nothing_is_saved(world, owner):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    response = owner.post("/portal/account/self-billing/", {**form_data(iban="DE00 1", tax_rate="120"),
                                                            "action": "opt_in", "accept": "on"})  # fmt: skip
    assert response.status_code == 400
    assert b"not a valid IBAN (Invalid IBAN length)" in response.content
    assert b"a tax rate is a percentage from 0 to 100" in response.content
    assert not SellerProfile.objects.exists() and not Agreement.objects.exists()


def test_not_now_postpones_onboarding(world, owner):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    response = owner.post("/portal/onboarding/self-billing/", {"action": "postpone"})
    assert response.status_code == 302 and owner.get("/portal/").url == "/portal/payouts/"
    assert owner.get("/portal/onboarding/self-billing/").url == "/portal/account/self-billing/"


def test_only_the_main_contact_can_opt_in_or_out(world):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    colleague = portal_user(world.supplier, "intern@leadgarden.example", main=False)
    assert colleague.get("/portal/").url == "/portal/payouts/"  # not sent to the step: not theirs to answer
    page = colleague.get("/portal/account/self-billing/")
    assert b"Only your main contact can change self-billing" in page.content and b"Save and opt in" not in page.content
    assert colleague.post("/portal/account/self-billing/", {**form_data(), "action": "opt_in",
                                                            "accept": "on"}).status_code == 403  # fmt: skip
    assert not Agreement.objects.exists()


def test_opt_out_from_the_account_page(world, owner):
    opt_in(world)
    response = owner.post("/portal/account/self-billing/", {"action": "opt_out"})
    assert response.status_code == 302
    agreement = Agreement.objects.get(partner=world.supplier)
    assert agreement.withdrawn_by == "owner@leadgarden.example" and agreement.withdrawn_from == "198.51.100.23"
    assert b"Not opted in" in owner.get("/portal/account/self-billing/").content


def test_partner_sees_its_payouts_and_downloads_its_self_invoice(world, owner):
    opt_in(world)
    payout = ready(compute(world))
    supply(world.supplier, world.buyer, 2, datetime(2026, 11, 2, tzinfo=UTC))
    compute(world, world_period("2026-11"))  # a draft: the business's work in progress, not shown
    listing = owner.get("/portal/payouts/")
    assert listing.status_code == 200 and b"2026-10" in listing.content and b"2026-11" not in listing.content
    page = owner.get(f"/portal/payouts/{payout.pk}/")
    assert b"SB-LEAD-GARDEN-000001" in page.content and b"type 389" in page.content
    pdf = owner.get("/portal/self-billed/SB-LEAD-GARDEN-000001/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    ubl = owner.get("/portal/self-billed/SB-LEAD-GARDEN-000001/einvoice?format=ubl")
    assert b"<cbc:InvoiceTypeCode>389</cbc:InvoiceTypeCode>" in ubl.content
    assert b"Upload your invoice" not in page.content  # it has a self-invoice


def world_period(key):
    from leadbill.domain import periods

    return periods.parse(key, "Europe/Berlin")


def test_without_self_invoice_the_payout_says_why_and_takes_the_partners_own_invoice(world, owner):
    supply(world.supplier, world.buyer, 1, datetime(2026, 10, 30, tzinfo=UTC))
    payout = ready(compute(world))
    page = owner.get(f"/portal/payouts/{payout.pk}/")
    assert (
        b"Self-billing is switched off for Nordlicht Leads GmbH." in page.content
        and b"Upload your invoice" in page.content
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = owner.post(f"/portal/payouts/{payout.pk}/", {"invoice": SimpleUploadedFile("x.docx", b"PK\x03\x04")})
    assert bad.status_code == 400 and b"neither a PDF nor an XML e-invoice" in bad.content
    good = owner.post(f"/portal/payouts/{payout.pk}/", {"invoice": SimpleUploadedFile("RE-118.pdf", b"%PDF-1.7 ours"),
                                                        "reference": "RE-118"})  # fmt: skip
    assert good.status_code == 302
    upload = SupplierInvoice.objects.get(payout=payout)
    assert (upload.reference, upload.uploaded_by) == ("RE-118", "user:owner@leadgarden.example")
    file = owner.get(f"/portal/payouts/{payout.pk}/invoices/{upload.pk}")
    assert file.content == b"%PDF-1.7 ours"


def test_another_partners_payouts_and_documents_are_404(world, owner):
    other = make_supplier(world.entity, code="kfz-direkt", name="Kfz Direkt")
    supply(other, world.buyer, 2, datetime(2026, 10, 9, tzinfo=UTC))
    opt_in(world)
    sbs.seller_details_set(actor=ACTOR, partner=other, details={**COMPLETE, "legal_name": "Kfz Direkt GmbH"})
    sbs.self_billing_opt_in(actor=ACTOR, partner=other, signer=sbs.Signer("k@kfz.example", True), accepted=True)
    result = s.payout_compute(actor=ACTOR, entity=world.entity, period=world_period("2026-10"), partners=[other])
    theirs = ready(result.created[0])
    number = theirs.documents.get().number
    assert owner.get(f"/portal/payouts/{theirs.pk}/").status_code == 404
    assert owner.get(f"/portal/self-billed/{number}/pdf").status_code == 404
    assert owner.get(f"/portal/self-billed/{number}/einvoice?format=ubl").status_code == 404
    assert owner.post(f"/portal/payouts/{theirs.pk}/", {}).status_code == 404


def test_a_buyer_only_partner_has_no_payout_pages_and_no_onboarding_step(site):
    sbs.self_billing_switch(actor=ACTOR, entity=site.entity, on=True)
    client = site.login(ACME_USER)  # acme's main contact; acme buys, it does not supply
    assert client.get("/portal/").status_code == 200
    assert client.get("/portal/payouts/").status_code == 404
    assert client.get("/portal/account/self-billing/").status_code == 404
    assert b"Payouts" not in client.get("/portal/").content


def test_the_saved_tax_rate_is_shown_as_written(world, owner):
    sbs.self_billing_switch(actor=ACTOR, entity=world.entity, on=True)
    for given, shown in (("10", b'value="10"'), ("7.5", b'value="7.5"'), ("19.25", b'value="19.25"')):
        sbs.seller_details_set(actor=ACTOR, partner=world.supplier, details=COMPLETE, tax_rate=given)
        assert shown in owner.get("/portal/account/self-billing/").content
