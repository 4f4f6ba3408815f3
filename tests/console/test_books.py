"""The Books page: a mapping form that changes only what it shows, exports, and their downloads."""

from __future__ import annotations

import hashlib

from django.contrib.messages import get_messages

from leadbill.books.models import AccountMapping, ExportBatch
from leadbill.books.selectors import mapping_columns
from leadbill.books.services import mapping_update
from tests.factories import make_lead_type
from tests.webworld import STAFF, Site

URL = "/console/leadco/books/"


def form_of(page) -> dict[str, str]:
    """The mapping form as the page shows it, ready to post back."""
    columns = page.context["columns"]
    data = {key: value for key, _, value in page.context["accounts"]}
    data.update({f"datev_{key}": "" if value is None else str(value) for key, _, value in page.context["datev"]})
    for code, _, revenue, cost in page.context["lead_types"]:
        data[f"revenue_by_lead_type:{code}"], data[f"cost_by_lead_type:{code}"] = revenue, cost
    assert columns
    return data


def test_the_mapping_form_changes_only_the_fields_it_shows(site: Site):
    make_lead_type(site.entity, "home", name="Home insurance")
    mapping_update(actor="test", entity=site.entity, raw={
        "cash_by_currency": {"USD": "1210"},
        "tax_rates": [{"rate": 19, "sales_code": "3", "purchase_code": "9"}],
        "cost_by_lead_type": {"home": "3101"},
    })  # fmt: skip
    finance = site.login(STAFF["finance"])
    page = finance.get(URL)
    assert page.status_code == 200
    data = {**form_of(page), "revenue": "8410", "revenue_by_lead_type:home": "8402", "datev_consultant": "1001",
            "datev_client": "10001"}  # fmt: skip
    response = finance.post(URL + "accounts/", data)
    assert response.status_code == 302
    after = mapping_columns(site.entity)
    assert (after["revenue"], after["revenue_by_lead_type"], after["datev_consultant"]) == (
        "8410",
        {"home": "8402"},
        1001,
    )
    assert after["cost_by_lead_type"] == {"home": "3101"}  # shown unchanged, kept
    assert after["cash_by_currency"] == {"USD": "1210"}  # not on the form: untouched
    assert after["tax_rates"] == [{"rate_bp": 1900, "payable": "", "receivable": "", "sales_code": "3",
                                   "purchase_code": "9"}]  # fmt: skip


def test_a_bad_account_is_named_and_nothing_is_saved(site: Site):
    finance = site.login(STAFF["finance"])
    data = {**form_of(finance.get(URL)), "cash": "=1+1", "receivables": "14000"}
    response = finance.post(URL + "accounts/", data, follow=True)
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Not saved" in text and "books.cash" in text
    assert not AccountMapping.objects.filter(entity=site.entity).exists()


def test_an_export_from_the_console_is_listed_and_downloads(site: Site):
    finance = site.login(STAFF["finance"])
    day = site.acme_invoice.issue_date.isoformat()
    response = finance.post(URL + "export/", {"from": day, "to": day, "target": "qbo"}, follow=True)
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    batch = ExportBatch.objects.get(entity=site.entity)
    assert f"Batch {batch.pk}" in text and "new" in text
    page = finance.get(URL)
    assert batch.file_name in page.content.decode()
    download = finance.get(f"{URL}batches/{batch.pk}/")
    assert hashlib.sha256(download.content).hexdigest() == batch.sha256
    again = finance.post(URL + "export/", {"from": day, "to": day, "target": "qbo"}, follow=True)
    assert f"already exported in batch {batch.pk}" in " ".join(str(m) for m in get_messages(again.wsgi_request))


def test_read_only_staff_see_the_page_but_cannot_export(site: Site):
    viewer = site.login(STAFF["readonly"])
    assert viewer.get(URL).status_code == 200
    day = site.acme_invoice.issue_date.isoformat()
    assert viewer.post(URL + "export/", {"from": day, "to": day, "target": "journal"}).status_code == 403
    assert not ExportBatch.objects.exists()


def test_the_page_runs_the_same_queries_for_one_batch_or_many(site: Site, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadbill.books.services import export_create

    finance = site.login(STAFF["finance"])
    day = site.acme_invoice.issue_date
    export_create(actor="test", entity=site.entity, target="journal", first=day, last=day)
    finance.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as one:
        finance.get(URL)
    for target in ("qbo", "xero"):
        export_create(actor="test", entity=site.entity, target=target, first=day, last=day)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = finance.get(URL)
    assert len(page.context["batches"]) == 3


def test_a_datev_number_in_unicode_digits_is_named_and_nothing_is_saved(site: Site):
    finance = site.login(STAFF["finance"])
    data = {**form_of(finance.get(URL)), "revenue": "8410", "datev_consultant": "١٠٠١"}
    response = finance.post(URL + "accounts/", data, follow=True)
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Not saved" in text and "datev.consultant" in text
    assert mapping_columns(site.entity)["revenue"] != "8410"
