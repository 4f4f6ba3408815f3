"""Receivables through the API: account, aging, statement, credit, refunds, reversals, write-offs."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def test_account_statement_and_aging_agree_for_acme(billed):
    invoice = billed.full.get("/invoices/INV-000001").body
    (account,) = billed.full.get("/partners/acme/account").body
    assert account["open"] == account["balance"] == invoice["balance_due"] == invoice["total"]
    assert account["open_invoices"][0]["number"] == "INV-000001"
    (row,) = billed.full.get("/receivables/aging").body
    assert row["partner"] == "acme" and row["total"] == account["open"]
    statement = billed.full.get("/partners/acme/statement", **{"from": "2026-01-01", "to": "2026-12-31"}).body
    assert statement["closing_balance"] == account["balance"]
    assert [line["document"] for line in statement["lines"]] == ["INV-000001"]
    csv_file = billed.full.call(
        "get", "/partners/acme/statement", format="csv", to="2026-12-31", **{"from": "2026-01-01"}
    )
    assert csv_file.status_code == 200 and "INV-000001" in csv_file.text
    assert billed.acme_key.get("/partners/acme/account").status_code == 200  # its own
    assert billed.acme_key.get("/partners/blue/account").status_code == 404  # not another's
    assert billed.acme_key.get("/receivables/aging").status_code == 403
    bad = billed.full.get("/partners/acme/statement", **{"from": "2026-12-31", "to": "2026-01-01"})
    assert bad.status_code == 422


def test_overpay_refund_reverse_apply_and_write_off(billed):
    invoice = billed.full.get("/invoices/INV-000001").body
    total = invoice["total"]
    paid = billed.full.post("/invoices/INV-000001/payments", {"amount": str(Decimal(total) + 5),
                                                              "paid_on": "2026-02-10", "currency": "EUR"})  # fmt: skip
    assert paid.status_code == 201, paid.body
    assert paid.body["invoice"]["status"] == "paid"
    (account,) = billed.full.get("/partners/acme/account").body
    assert account["credit_on_account"] == "5.00" and account["balance"] == "-5.00"
    refund = billed.full.post("/partners/acme/credit/refunds", {"currency": "EUR", "amount": "1.00"})
    assert refund.status_code == 201 and refund.body["credit_on_account"] == "4.00"
    too_much = billed.full.post("/partners/acme/credit/refunds", {"currency": "EUR", "amount": "4.01"})
    assert too_much.status_code == 422
    payment_id = paid.body["payment"]["id"]
    reversed_ = billed.full.post(f"/invoices/INV-000001/payments/{payment_id}/reverse", {"reason": "bounced"})
    assert reversed_.status_code == 200 and reversed_.body["open"] == total
    again = billed.full.post(f"/invoices/INV-000001/payments/{payment_id}/reverse", {"reason": "bounced"})
    assert again.status_code == 409
    nothing = billed.full.post("/partners/acme/credit/apply", {"currency": "EUR"})
    assert nothing.status_code == 409
    written = billed.full.post("/invoices/INV-000001/write-off", {"reason": "insolvent"})
    assert written.status_code == 200 and written.body["open"] == "0.00"
    assert billed.full.get("/invoices/INV-000001").body["status"] == "written_off"


def test_a_credit_note_is_refused_a_write_off_and_credit_with_a_problem(billed):
    voided = billed.full.post("/invoices/INV-000001/void", {"reason": "wrong company", "leads": "rebill"})
    assert voided.status_code == 200, voided.body
    note = voided.body["credit_note"]["number"]
    written = billed.full.post(f"/invoices/{note}/write-off", {"reason": "insolvent"})
    assert written.status_code == 409 and f"{note} is a credit note" in written.body["detail"], written.body
    applied = billed.full.post("/partners/acme/credit/apply", {"currency": "EUR", "invoice": note})
    assert applied.status_code == 409 and f"{note} is a credit note" in applied.body["detail"], applied.body


def test_the_reminder_policy_through_the_api(billed):
    policy = billed.full.get("/reminders").body
    assert policy["enabled"] is False and [s["days"] for s in policy["steps"]] == [-3, 7, 14, 30]
    changed = billed.full.put("/reminders", {"enabled": True, "steps": [{"days": 10, "subject": "Late: $number",
                                                                         "body": "$open is open"}]})  # fmt: skip
    assert changed.status_code == 200 and changed.body["enabled"] and len(changed.body["steps"]) == 1
    bad = billed.full.put("/reminders", {"steps": [{"days": 10, "subject": "Late: $nope", "body": "x"}]})
    assert bad.status_code == 422 and "unknown placeholder $nope" in bad.body["detail"]
    assert billed.full.get("/reminders").body["steps"][0]["subject"] == "Late: $number"  # unchanged by the refusal
    assert billed.full.post("/partners/acme/reminders/pause", {"reason": "payment plan"}).status_code == 200
    assert billed.full.post("/partners/acme/reminders/resume").status_code == 200
    assert billed.acme_key.get("/reminders").status_code == 403
