"""Invoice runs, invoices, documents, payments, voids, credits and balances over the API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

from leadbill.documents.models import ArchivedDocument
from leadbill.invoicing.models import Invoice
from tests.api.conftest import delivery


def test_preview_shows_the_summary_and_writes_nothing(world):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(i) for i in range(3)]})
    preview = world.full.post("/invoice-runs/preview", {"period": "2026-01"})
    assert preview.status_code == 200
    acme = next(p for p in preview.body["partners"] if p["partner"] == "acme")
    assert (acme["delivered"], acme["billable"], acme["subtotal"], acme["tax"], acme["total"]) == (
        3, 3, "6.00", "1.14", "7.14",
    )  # fmt: skip
    assert preview.body["period"]["start"].startswith("2026-01-01T00:00:00")
    assert not Invoice.objects.exists()
    bad = world.full.post("/invoice-runs/preview", {"period": "January"})
    assert bad.status_code == 422 and bad.body["errors"][0]["pointer"] == "/period"


def test_an_open_period_is_refused_unless_allowed(world):
    refused = world.full.post("/invoice-runs", {"period": "2099-01"})
    assert refused.status_code == 422 and "has not ended" in refused.body["detail"]


def test_issue_then_list_get_and_page_through_invoices(billed, frozen):
    runs = billed.full.get("/invoice-runs").body["items"]
    assert runs[0]["issued"] == ["INV-000001", "INV-000002"] and runs[0]["totals"] == {"EUR": "10.71"}
    assert billed.full.get(f"/invoice-runs/{runs[0]['id']}").body["id"] == runs[0]["id"]
    again = billed.full.post("/invoice-runs", {"period": "2026-01"})
    assert again.body["skipped_already_invoiced"] == ["acme", "blue"] and again.body["issued"] == []
    invoice = billed.full.get("/invoices/INV-000001").body
    assert invoice["partner"] == "acme" and invoice["kind"] == "invoice" and invoice["status"] == "issued"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["currency"]) == (
        "6.00",
        "1.14",
        "7.14",
        "EUR",
    )
    assert invoice["lines"][0]["unit_price"] == "2.00" and invoice["leads_purchased"] == 3
    assert invoice["history"] and invoice["period"]["first_day"] == "2026-01-01"
    receipt = billed.full.get("/invoices/INV-000002").body
    assert receipt["kind"] == "receipt" and receipt["prepay"]["closing_balance"] == "96.43"
    first = billed.full.get("/invoices", limit=1)
    second = billed.full.get("/invoices", limit=1, cursor=first.body["next_cursor"])
    assert [first.body["items"][0]["number"], second.body["items"][0]["number"]] == ["INV-000002", "INV-000001"]
    assert second.body["next_cursor"] is None
    assert [i["number"] for i in billed.full.get("/invoices", partner="acme", status="issued").body["items"]] == [
        "INV-000001"
    ]
    assert billed.full.get("/invoices", kind="receipt").body["items"][0]["number"] == "INV-000002"
    due = date.fromisoformat(billed.full.get("/invoices/INV-000001").body["due_date"])
    frozen(datetime.combine(due, time(12), tzinfo=UTC))  # due today: not yet overdue
    assert billed.full.get("/invoices", overdue=True).body["items"] == []
    frozen(datetime.combine(due + timedelta(days=1), time(12), tzinfo=UTC))  # the receipt is never overdue
    assert [i["number"] for i in billed.full.get("/invoices", overdue=True).body["items"]] == ["INV-000001"]
    assert billed.full.get("/invoices", issued_from="2026-03-01").body["items"] == []
    assert billed.full.get("/invoices", partner="nobody").status_code == 404


def test_an_overdue_partly_paid_invoice_is_listed_as_overdue(billed, frozen):
    paid = billed.full.post("/invoices/INV-000001/payments", {"amount": "1.00", "paid_on": "2026-02-10",
                                                              "currency": "EUR"})  # fmt: skip
    assert paid.status_code == 201 and paid.body["invoice"]["status"] == "partially_paid", paid.body
    due = billed.full.get("/invoices/INV-000001").body["due_date"]
    frozen(datetime.combine(date.fromisoformat(due) + timedelta(days=1), time(12), tzinfo=UTC))
    listed = [i["number"] for i in billed.full.get("/invoices", overdue=True).body["items"]]
    assert listed == ["INV-000001"]  # the receipt is paid, never overdue
    assert "INV-000001" not in [i["number"] for i in billed.full.get("/invoices", overdue=False).body["items"]]


def test_documents_download_and_stay_identical(billed):
    pdf = billed.full.get("/invoices/INV-000001/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and 'filename="INV-000001.pdf"' in pdf["Content-Disposition"]
    assert billed.acme_key.get("/invoices/INV-000001/pdf").content == pdf.content
    ubl = billed.full.get("/invoices/INV-000001/einvoice", format="ubl")
    assert ubl["Content-Type"] == "application/xml" and b"<cbc:ID>INV-000001</cbc:ID>" in ubl.content
    facturx = billed.full.get("/invoices/INV-000001/einvoice", format="facturx")
    assert facturx.content.startswith(b"%PDF")
    assert ArchivedDocument.objects.count() == 3
    assert billed.full.get("/invoices/INV-000001/einvoice", format="docx").status_code == 422
    no_peppol = billed.full.get("/invoices/INV-000002/einvoice", format="ubl")
    assert no_peppol.status_code == 409 and "no Peppol participant id" in no_peppol.body["detail"]


def test_drafts_have_no_documents_until_issued(world):
    world.ingest.post("/deliveries/batch", {"deliveries": [delivery(0)]})
    run = world.full.post("/invoice-runs", {"period": "2026-01", "draft": True}).body
    reference = f"draft-{run['drafts'][0]}"
    assert world.full.get(f"/invoices/{reference}").body["status"] == "draft"
    assert world.full.get(f"/invoices/{reference}/pdf").status_code == 409
    assert world.acme_key.get(f"/invoices/{reference}").status_code == 404
    issued = world.full.post(f"/invoices/{reference}/issue", {"issue_date": "2026-02-02"})
    assert issued.status_code == 200 and issued.body["number"] == "INV-000001"
    assert issued.body["issue_date"] == "2026-02-02"


def test_payments_partial_then_whole_and_wrong_currency(billed):
    wrong = billed.full.post(
        "/invoices/INV-000001/payments", {"amount": "1.00", "currency": "USD", "paid_on": "2026-02-10"}
    )
    assert wrong.status_code == 422 and wrong.body["type"].endswith("wrong-currency")
    too_precise = billed.full.post("/invoices/INV-000001/payments",
                                   {"amount": "1.001", "currency": "EUR", "paid_on": "2026-02-10"})  # fmt: skip
    assert too_precise.status_code == 422
    as_number = billed.full.post(
        "/invoices/INV-000001/payments", {"amount": 1.5, "currency": "EUR", "paid_on": "2026-02-10"}
    )
    assert as_number.status_code == 422
    part = billed.full.post("/invoices/INV-000001/payments",
                            {"amount": "5.00", "currency": "EUR", "paid_on": "2026-02-10", "reference": "bank 1"})  # fmt: skip
    assert part.status_code == 201 and part.body["invoice"]["balance_due"] == "2.14"
    rest = billed.full.post("/invoices/INV-000001/payments", {"currency": "EUR", "paid_on": "2026-02-11"})
    assert rest.body["payment"]["amount"] == "2.14" and rest.body["invoice"]["status"] == "paid"
    assert [p["amount"] for p in billed.full.get("/invoices/INV-000001/payments").body] == ["5.00", "2.14"]
    more = billed.full.post(
        "/invoices/INV-000001/payments", {"amount": "1.00", "currency": "EUR", "paid_on": "2026-02-12"}
    )
    assert more.status_code == 409 and "is paid; only open invoices take payments" in more.body["detail"]


def test_void_issues_a_reversing_credit_note(billed):
    assert billed.full.post("/invoices/INV-000001/void", {"reason": ""}).status_code == 422
    result = billed.full.post("/invoices/INV-000001/void", {"reason": "wrong partner"})
    assert result.status_code == 200
    assert result.body["voided"]["status"] == "void"
    assert result.body["credit_note"]["kind"] == "credit_note" and result.body["credit_note"]["total"] == "-7.14"
    again = billed.full.post("/invoices/INV-000001/void", {"reason": "again"})
    assert again.status_code == 409 and again.body["type"] == "urn:leadbill:problem:conflict"


def test_returns_after_billing_become_a_credit_note(billed):
    ret = billed.ingest.post("/returns", {"external_id": "ext-0", "reason": "fake"}).body
    billed.full.post(f"/returns/{ret['id']}/accept", {})
    note = billed.full.post("/credit-notes", {"partner": "acme"})
    assert note.status_code == 201, note.body
    assert note.body["kind"] == "credit_note" and note.body["total"] == "-2.38"
    nothing = billed.full.post("/credit-notes", {"partner": "acme"})
    assert nothing.status_code == 409 and "nothing to credit" in nothing.body["detail"]
    unknown = billed.full.post("/credit-notes", {"partner": "nobody"})
    assert unknown.status_code == 422 and unknown.body["errors"][0]["pointer"] == "/partner"


def test_adjustments_topups_and_balance(billed):
    adj = billed.full.post(
        "/adjustments", {"partner": "acme", "amount": "-5.00", "currency": "EUR", "reason": "goodwill"}
    )
    assert adj.status_code == 201 and adj.body["amount"] == "-5.00" and adj.body["invoice"] is None
    assert billed.full.get("/adjustments", partner="acme").body["items"][0]["reason"] == "goodwill"
    wrong = billed.full.post("/adjustments", {"partner": "acme", "amount": "-5.00", "currency": "GBP", "reason": "x"})
    assert wrong.status_code == 422
    topup = billed.full.post("/partners/blue/topups", {"amount": "50.00", "currency": "EUR", "reference": "wire 7"})
    assert topup.status_code == 201 and topup.body["kind"] == "topup"
    balance = billed.blue_key.get("/partners/blue/balance").body
    assert balance["balance"] == "146.43" and [e["kind"] for e in balance["entries"]][:1] == ["topup"]
    credit_topup = billed.full.post("/partners/acme/topups", {"amount": "50.00", "currency": "EUR"})
    assert credit_topup.status_code == 422 and "prepay" in credit_topup.body["detail"]


def test_report_csv_is_streamed_for_the_partner(billed):
    response = billed.acme_key.get("/partners/acme/report", first_day="2026-01-01", last_day="2026-01-31")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and {r["zip"] for r in rows} == {"10110", "10111", "10112"}
    assert {r["invoice"] for r in rows} == {"INV-000001"}
    pdf = billed.full.get("/partners/acme/report", first_day="2026-01-01", last_day="2026-01-31", format="pdf")
    assert pdf.content.startswith(b"%PDF")
    backwards = billed.full.get("/partners/acme/report", first_day="2026-01-31", last_day="2026-01-01")
    assert backwards.status_code == 422
    assert billed.full.get("/partners/acme/report", first_day="2026-01-01", last_day="2026-01-31",
                           lead_type="nope").status_code == 422  # fmt: skip
