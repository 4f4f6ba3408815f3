"""Every console URL enforces membership and role: generated from the URL patterns, so a new page is covered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import URLPattern, reverse

from leadbill.console import urls as console_urls
from leadbill.domain import periods
from leadbill.entities.models import Entity
from leadbill.invoicing.models import Invoice, Payment
from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.selfbilling import services as sbs
from leadbill.selfbilling.models import SelfBilledDocument, SupplierInvoice
from leadbill.web.models import Role
from tests.payouts.conftest import World, compute, make_supplier, opt_in, ready, supply
from tests.webworld import OTHER_ADMIN, STAFF, Site

POST_ONLY = {"adjustment_new", "topup_new", "credit_note_new", "partner_user_new", "returns_decide", "run_issue",
             "invoice_pay", "invoice_void", "invoice_send", "invoice_issue", "invoice_discard", "staff_new",
             "staff_role", "staff_remove", "entity_documents", "schedule_save", "mail_save", "endpoint_new",
             "endpoint_toggle", "delivery_redeliver", "payout_compute", "payout_move", "payout_self_bill",
             "self_billing_switch", "self_billing_terms", "credit_apply", "credit_refund", "invoice_write_off", "payment_reverse",
             "reminders_switch", "reminders_pause", "bank_import", "bank_match",
             "run_email_all", "run_download_all", "issue_and_send_save", "partner_cycle_save", "run_release",
             "safety_bounds_save", "books_accounts", "books_export", "payment_file_new", "payment_file_sent",
             "payment_file_cancel"}  # fmt: skip
ADMIN_ONLY = {"users", "staff_new", "staff_role", "staff_remove", "entity_documents",
              "mail_save", "endpoint_new", "endpoint_toggle", "delivery_redeliver", "self_billing_switch",
              "self_billing_terms", "entity_details"}  # fmt: skip
READ_ONLY_MAY_POST = {"plan_quote"}  # computes a quote, writes nothing


@pytest.fixture(autouse=True)
def payouts(site: Site) -> None:
    """A supplier of the site with a ready payout and its self-invoice, and a pending one with its own invoice."""
    world = World(site.entity, site.acme, make_supplier(site.entity), [])
    world.leads = supply(world.supplier, site.acme, 3, datetime(2026, 10, 5, 9, tzinfo=UTC))
    opt_in(world)
    october = ready(compute(world, periods.month(2026, 10, "UTC")))
    november = s.payout_create(actor="test", partner=world.supplier, period=periods.month(2026, 11, "UTC"),
                               lines=[s.ManualLine("Bonus", 1, Decimal(50))])  # fmt: skip
    s.payout_transition(actor="test", payout=november, to="pending")
    sbs.self_billing_switch(actor="test", entity=site.entity, on=False)  # so november gets no self-invoice
    sbs.supplier_invoice_upload(actor="test", payout=november, name="RE-1.pdf", content=b"%PDF-1.7 own")
    from leadbill.invoicing.services import payment_record

    payment_record(actor="test", invoice=site.acme_invoice, amount_minor=100, paid_on=datetime(2026, 2, 3).date())
    from leadbill.payment_files.services import payment_file_create

    Entity.objects.filter(pk=site.entity.pk).update(iban="DE89370400440532013000")
    site.entity.refresh_from_db()
    payment_file_create(actor="test", entity=site.entity, kind="sepa", payout_ids=[october.pk])


ENTITY_FREE = {"start"}  # /console/ itself: no entity to guard, see test_start.py


def patterns() -> list[URLPattern]:
    """The console's pages of one entity: every one of them is walked by the tests below."""
    return [p for p in console_urls.urlpatterns if isinstance(p, URLPattern) and "entity" in p.pattern.converters]


def object_pk(route: str, site: Site) -> int:
    """The object a route's <int:pk> names: the site's run, its payout objects, or a staff membership."""
    path = route.removeprefix("<slug:entity>/")
    if path.endswith("documents.zip"):  # a "Download all" made ready, so the zip is served
        from django.utils import timezone

        from leadbill.scheduling.models import RunAction

        RunAction.objects.get_or_create(run=site.run, kind="download",
                                        defaults={"actor": "test", "finished_at": timezone.now()})  # fmt: skip
    if path.startswith("runs/"):
        return site.run.pk
    if path.startswith("payouts/files/"):
        from leadbill.payment_files.models import PaymentFile

        return PaymentFile.objects.get(entity=site.entity).pk
    if path.startswith("payouts/"):
        return Payout.objects.get(entity=site.entity, status="ready").pk
    if path.startswith("self-billed/"):
        return SelfBilledDocument.objects.get(entity=site.entity).pk
    if path.startswith("supplier-invoices/"):
        return SupplierInvoice.objects.get(payout__entity=site.entity).pk
    if "/payments/" in path:
        return Payment.objects.get(invoice=site.acme_invoice).pk
    if path.startswith("bank/entries/"):
        return 1
    if path.startswith("books/batches/"):
        from leadbill.books.models import ExportBatch
        from leadbill.books.services import export_create

        batch = ExportBatch.objects.filter(entity=site.entity).first()
        if batch is None:
            first, last = site.acme_invoice.issue_date, site.acme_invoice.issue_date
            batch = export_create(actor="test", entity=site.entity, target="journal", first=first, last=last).batch
        return batch.pk
    if path.startswith("deliveries/import/"):
        from leadbill.deliveries.models import DeliveryImport

        upload, _ = DeliveryImport.objects.get_or_create(entity=site.entity, file_name="leads.csv",
                                                         defaults={"state": "done", "created_by": "test", "result": {}})  # fmt: skip
        return upload.pk
    return site.admin_membership.pk


def url_of(pattern: URLPattern, site: Site) -> str:
    values = {"entity": site.entity.slug, "code": site.acme.code, "ref": site.acme_invoice.number,
              "pk": object_pk(str(pattern.pattern), site)}  # fmt: skip
    url = reverse(f"console:{pattern.name}", kwargs={k: values[k] for k in pattern.pattern.converters})
    query = {"run_preview": "?period=2026-01", "invoice_einvoice": "?format=facturx"}
    return url + query.get(str(pattern.name), "")


def test_every_console_page_is_known_to_these_tests():
    outside = {p.name for p in console_urls.urlpatterns if isinstance(p, URLPattern)} - {p.name for p in patterns()}
    assert outside == ENTITY_FREE, "a console page outside /console/<entity>/ escapes the walk below"
    names = {p.name for p in patterns()}
    assert names >= POST_ONLY and names >= ADMIN_ONLY, "a listed page was renamed"
    assert len(names) == len(patterns()), "two console patterns share a name"


def test_anonymous_visitors_are_sent_to_sign_in(site: Site, client):
    for pattern in patterns():
        url = url_of(pattern, site)
        response = client.post(url) if pattern.name in POST_ONLY else client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_another_entitys_staff_get_404_on_every_page(site: Site):
    outsider = site.login(OTHER_ADMIN)  # an admin, but of the other entity
    for pattern in patterns():
        url = url_of(pattern, site)
        response = outsider.post(url) if pattern.name in POST_ONLY else outsider.get(url)
        assert response.status_code == 404, url
        if pattern.name not in POST_ONLY:
            assert outsider.post(url).status_code == 404, url
    assert Invoice.objects.filter(entity=site.entity).exclude(status="void").count() == 2


def test_partner_users_get_404_on_every_console_page(site: Site):
    from tests.webworld import ACME_USER

    partner_user = site.login(ACME_USER)
    for pattern in patterns():
        url = url_of(pattern, site)
        response = partner_user.post(url) if pattern.name in POST_ONLY else partner_user.get(url)
        assert response.status_code == 404, url


def test_read_only_staff_can_read_but_every_write_is_403(site: Site):
    reader = site.login(STAFF[Role.READONLY])
    for pattern in patterns():
        url = url_of(pattern, site)
        expected_get = 403 if pattern.name in ADMIN_ONLY else 405 if pattern.name in POST_ONLY else 200
        if pattern.name not in POST_ONLY:
            assert reader.get(url).status_code == expected_get, url
        if pattern.name not in READ_ONLY_MAY_POST:
            assert reader.post(url, {"amount": "1.00", "reason": "x", "period": "2026-01"}).status_code == 403, url
    invoice = Invoice.objects.get(pk=site.acme_invoice.pk)
    assert invoice.status == "partially_paid" and invoice.paid_minor == 100  # as the fixture left it
    assert Payment.objects.count() == 1  # the fixture's own
    assert not Invoice.objects.filter(kind="credit_note").exists()


@pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
def test_finance_staff_cannot_manage_users_or_settings(site: Site, name: str):
    finance = site.login(STAFF[Role.FINANCE])
    pattern = next(p for p in patterns() if p.name == name)
    url = url_of(pattern, site)
    response = finance.post(url, {"role": "admin"}) if name in POST_ONLY else finance.get(url)
    assert response.status_code == 403


def test_finance_staff_can_open_every_non_admin_page(site: Site):
    finance = site.login(STAFF[Role.FINANCE])
    for pattern in patterns():
        if pattern.name in POST_ONLY or pattern.name in ADMIN_ONLY:
            continue
        url = url_of(pattern, site)
        response = finance.get(url)
        assert response.status_code == 200, url
