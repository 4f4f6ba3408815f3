"""Bank statements in: camt.053/054 and bank CSV parsed, credits matched to invoices and recorded as payments."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from leadbill.audit.models import AuditEvent
from leadbill.domain.errors import DomainError, StateError
from leadbill.invoicing.models import Invoice, Payment
from leadbill.receivables import bankfiles
from leadbill.receivables.bank_models import BankEntry
from leadbill.receivables.statements import (
    bank_entry_match,
    bank_statement_import,
    rf_in_text,
    unmatched_entries,
    word_candidates,
)
from tests.factories import make_deliveries, make_partner, make_plan
from tests.invoicing.conftest import JAN_2
from tests.invoicing.helpers import ACTOR, issue

FIXTURES = Path(__file__).parent / "fixtures"
CAMT053 = (FIXTURES / "camt053_v08.xml").read_bytes()
CAMT054 = (FIXTURES / "camt054_v08.xml").read_bytes()
BANK_CSV = (FIXTURES / "bank.csv").read_bytes()
COLUMNS = {"date": "Booking date", "amount": "Amount", "currency": "Currency", "text": "Purpose", "debtor": "Payer",
           "entry_id": "Transaction id"}  # fmt: skip


# --- parsing, no database -----------------------------------------------------------------------


def test_camt053_entries_become_lines_and_a_batch_one_line_per_transaction():
    parsed = bankfiles.parse_camt(CAMT053, "day.xml")
    refs = [(line.reference, line.amount_minor, line.debtor) for line in parsed.lines]
    assert refs == [
        ("2026020500001", 1000, "Blue River Insurance"),
        ("2026020500002", 300, "Acme Leads Ltd"),
        ("2026020500003", 1400, "Unknown Payer"),
        ("2026020500004/1", 1400, "COBALT MEDIA GMBH"),
        ("2026020500004/2", 777, "Somebody Else"),
        ("2026020500005", -500, ""),
    ]
    first = parsed.lines[0]
    assert (first.account, first.booked_on, first.currency) == ("DE89370400440532013000", date(2026, 2, 5), "USD")
    assert first.structured_reference == "RF42INV000002"
    assert parsed.lines[1].remittance == "Teilzahlung inv-000001, Rest folgt"


def test_camt054_is_read_with_its_date_time_a_hashed_reference_and_pending_entries_skipped():
    parsed = bankfiles.parse_camt(CAMT054, "notification.xml")
    (line,) = parsed.lines
    assert parsed.not_booked == 1
    assert (line.account, line.booked_on, line.amount_minor) == ("0532013000", date(2026, 2, 6), 1400)
    assert line.reference.startswith("H") and len(line.reference) == 41
    assert bankfiles.parse_camt(CAMT054).lines[0].reference == line.reference  # the same entry, the same hash


def refused(content: bytes) -> str:
    with pytest.raises(DomainError) as exc:
        bankfiles.parse_camt(content, "bad.xml")
    return str(exc.value)


def test_a_malformed_statement_is_refused_naming_the_element():
    missing = CAMT053.replace(b'<Amt Ccy="USD">3.00</Amt>\n        <CdtDbtInd>', b"<CdtDbtInd>", 1)
    assert refused(missing) == "Stmt[1]/Ntry[2]/Amt: missing"
    assert refused(CAMT053.replace(b">3.00</Amt>", b">3,00</Amt>", 1)) == "Stmt[1]/Ntry[2]/Amt: not a decimal number"
    assert refused(CAMT053.replace(b">3.00</Amt>", b">3.001</Amt>", 1)).startswith("Stmt[1]/Ntry[2]/Amt: 3.001 has")
    assert refused(CAMT053.replace(b">7.77</Amt>", b">7.70</Amt>", 1)).startswith("Stmt[1]/Ntry[4]/NtryDtls: the 2")
    assert "Stmt[1]/Ntry[5]/CdtDbtInd" in refused(CAMT053.replace(b"<CdtDbtInd>DBIT", b"<CdtDbtInd>DEBT", 1))
    assert "Stmt[1]/Ntry[1]/BookgDt/Dt" in refused(CAMT053.replace(b"<Dt>2026-02-05</Dt>\n        </BookgDt>",
                                                                   b"<Dt>2026-02-35</Dt></BookgDt>", 1))  # fmt: skip
    assert "not an ISO 20022 camt.053" in refused(CAMT053.replace(b"camt.053.001.08", b"pain.001.001.09"))
    assert "not well-formed" in refused(CAMT053[:-40])


def test_a_doctype_is_refused_before_any_entity_is_read():
    bomb = CAMT053.replace(
        b"<Document ",
        b'<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Document ',
        1,
    ).replace(b"<Ustrd>see our mail", b"<Ustrd>&b;", 1)
    assert "may not declare a DOCTYPE" in refused(bomb)
    external = b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "file:///etc/passwd"><d/>'
    assert "may not declare a DOCTYPE" in refused(external)


def test_another_version_of_camt053_is_read_by_its_local_names():
    v02 = CAMT053.replace(b"camt.053.001.08", b"camt.053.001.02")
    assert len(bankfiles.parse_camt(v02).lines) == 6


def test_rf_references_are_found_in_free_text_printed_or_compact():
    assert rf_in_text("Invoice RF15 INV0 0000 3 January") == ["INV000003"]
    assert rf_in_text("ref rf42inv000002, thanks") == ["INV000002"]
    assert rf_in_text("RF42INV0000021") == []  # a longer word is not the reference
    assert rf_in_text("RF00 INV0 0000 2") == []  # wrong check digits


def test_invoice_numbers_are_found_only_word_bounded():
    assert "INV-000001" in word_candidates("Teilzahlung inv-000001, Rest", 10)
    assert "INV-000001" not in word_candidates("inv-0000011", 10)
    assert "INV-000001" not in word_candidates("XINV-000001", 10)


# --- through the services -------------------------------------------------------------------------


@pytest.fixture
def invoices(entity, buyer, jan):
    """January's invoices: INV-000001 acme 6.00, INV-000002 blue-river 10.00, INV-000003 cobalt 14.00,
    INV-000004 delta 14.00 (so 14.00 alone does not tell cobalt from delta)."""
    acme = make_partner(entity, code="acme", name="Acme Leads Ltd", currency="USD")
    cobalt = make_partner(entity, code="cobalt", name="Cobalt Media", legal_name="Cobalt Media GmbH", currency="USD")
    delta = make_partner(entity, code="delta", name="Delta Direct", currency="USD")
    for partner, leads in ((acme, 3), (buyer, 5), (cobalt, 7), (delta, 7)):
        make_plan(partner, "flat", {"price": "2.00"})
        make_deliveries(partner, leads, JAN_2)
    issue(entity, jan)
    found = {i.partner.code: (i.number, i.total_minor) for i in Invoice.objects.filter(kind="invoice")}
    assert found == {"acme": ("INV-000001", 600), "blue-river": ("INV-000002", 1000),
                     "cobalt": ("INV-000003", 1400), "delta": ("INV-000004", 1400)}  # fmt: skip
    return {number: Invoice.objects.get(number=number) for number, _ in found.values()}


def state(number):
    inv = Invoice.objects.get(number=number)
    return inv.status, inv.paid_minor


def import_camt(entity, content=CAMT053, name="camt053.xml"):
    return bank_statement_import(actor=ACTOR, entity=entity, content=content, file_name=name)


def test_a_statement_is_matched_and_recorded_as_payments(entity, invoices):
    result = import_camt(entity)
    assert result.counts() == {"new": 6, "duplicate": 0, "matched": 3, "unmatched": 2, "ignored": 1,
                               "not_booked": 0, "refused_rows": 0}  # fmt: skip
    assert state("INV-000002") == ("paid", 1000)  # RF reference
    assert state("INV-000001") == ("partially_paid", 300)  # number in the text
    assert state("INV-000003") == ("paid", 1400)  # the payer's only open invoice of 14.00
    assert state("INV-000004") == ("issued", 0)
    rules = dict(BankEntry.objects.filter(state="matched").values_list("reference", "rule"))
    assert rules == {"2026020500001": "rf_reference", "2026020500002": "invoice_number",
                     "2026020500004/1": "amount"}  # fmt: skip
    assert Payment.objects.get(invoice__number="INV-000002").reference == "RF42INV000002"
    assert Payment.objects.get(invoice__number="INV-000001").paid_on == date(2026, 2, 5)
    debit = BankEntry.objects.get(reference="2026020500005")
    assert (debit.state, debit.amount_minor, debit.payment_id) == ("ignored_debit", -500, None)
    (audit,) = AuditEvent.objects.filter(action="bank_statement.imported")
    assert (audit.data["file"], audit.data["matched"], audit.data["unmatched"]) == ("camt053.xml", 3, 2)


def test_a_replay_records_nothing(entity, invoices):
    import_camt(entity)
    payments = Payment.objects.count()
    again = import_camt(entity, name="same-again.xml")
    assert (again.new, again.duplicate, again.matched) == (0, 6, 0)
    assert Payment.objects.count() == payments
    assert BankEntry.objects.count() == 6


def test_unmatched_entries_are_listed_with_their_reason(entity, invoices):
    result = import_camt(entity)
    listed = list(unmatched_entries(entity))
    assert [e.reference for e in listed] == ["2026020500003", "2026020500004/2"]
    assert [e.pk for e in result.unmatched_entries] == [e.pk for e in listed]
    assert listed[0].reason.startswith("2 open invoices have this amount (INV-000003, INV-000004")
    assert listed[1].reason.startswith("no reference, invoice number or unique open amount")


def test_a_person_matches_an_unmatched_entry_with_one_click(entity, invoices):
    import_camt(entity)
    entry = BankEntry.objects.get(reference="2026020500003")
    matched = bank_entry_match(actor=ACTOR, entry=entry, invoice=invoices["INV-000004"])
    assert (matched.state, matched.rule, matched.invoice_id) == ("matched", "manual", invoices["INV-000004"].pk)
    assert state("INV-000004") == ("paid", 1400)
    assert AuditEvent.objects.filter(action="bank_entry.matched", object_id=str(entry.pk)).exists()
    with pytest.raises(StateError, match="matched already"):
        bank_entry_match(actor=ACTOR, entry=entry, invoice=invoices["INV-000001"])
    with pytest.raises(StateError, match="debit"):
        bank_entry_match(actor=ACTOR, entry=BankEntry.objects.get(amount_minor=-500), invoice=invoices["INV-000001"])


def test_camt054_matches_an_rf_reference_printed_in_the_free_text(entity, invoices):
    result = import_camt(entity, CAMT054, "ntf.xml")
    assert (result.new, result.matched, result.not_booked) == (1, 1, 1)
    assert state("INV-000003") == ("paid", 1400)
    assert BankEntry.objects.get().rule == "rf_reference"


def test_a_paid_invoice_or_another_currency_leaves_the_entry_unmatched_with_the_reason(entity, invoices):
    import_camt(entity)
    rows = (b"Booking date,Amount,Currency,Purpose,Payer,Transaction id\n"
            b"2026-02-06,10.00,USD,RF42INV000002 again,Blue River Insurance,X-1\n"
            b"2026-02-06,6.00,EUR,INV-000004,Delta Direct,X-2\n")  # fmt: skip
    result = bank_statement_import(actor=ACTOR, entity=entity, content=rows, file_name="b.csv", format="csv",
                                   columns=COLUMNS)  # fmt: skip
    assert (result.matched, result.unmatched) == (0, 2)
    reasons = [e.reason for e in result.unmatched_entries]
    assert reasons == ["INV-000002 is paid; nothing is open on it", "INV-000004 is in USD; the payment is in EUR"]


def test_a_csv_with_bad_rows_keeps_the_good_ones(entity, invoices):
    result = bank_statement_import(actor=ACTOR, entity=entity, content=BANK_CSV, file_name="bank.csv",
                                   columns=COLUMNS, account="DE89370400440532013000")  # fmt: skip
    assert [str(p) for p in result.problems] == [
        "line 3, amount: not a decimal number: 'abc'",
        "line 5, date: not a date (YYYY-MM-DD or DD.MM.YYYY): '2026-02-31'",
    ]
    assert (result.format, result.new, result.matched, result.unmatched, result.ignored) == ("csv", 3, 1, 1, 1)
    assert state("INV-000002") == ("paid", 1000)
    again = bank_statement_import(actor=ACTOR, entity=entity, content=BANK_CSV, file_name="bank.csv",
                                  columns=COLUMNS, account="DE89370400440532013000")  # fmt: skip
    assert (again.new, again.duplicate) == (0, 3)


def test_csv_cells_go_through_the_text_sanitiser(entity, invoices):
    rows = b"Booking date,Amount,Purpose\n2026-02-06,1.23,evil\x1b[31m text\n"
    result = bank_statement_import(actor=ACTOR, entity=entity, content=rows, file_name="c.csv",
                                   columns={"date": "Booking date", "amount": "Amount", "text": "Purpose"})  # fmt: skip
    assert result.unmatched_entries[0].remittance == "evil[31m text"


def test_a_csv_without_its_columns_mapped_is_refused(entity, invoices):
    with pytest.raises(DomainError, match="columns mapped"):
        bank_statement_import(actor=ACTOR, entity=entity, content=BANK_CSV, file_name="bank.csv")
    with pytest.raises(DomainError, match="no column date='Valuta'"):
        bank_statement_import(actor=ACTOR, entity=entity, content=BANK_CSV, file_name="bank.csv",
                              columns={**COLUMNS, "date": "Valuta"})  # fmt: skip
    assert not BankEntry.objects.exists()


# --- through the interfaces ---------------------------------------------------------------------


@pytest.fixture
def api(entity, invoices):
    from leadbill.api.keys import api_key_create
    from tests.api.conftest import Api

    def key(scope):
        return Api(api_key_create(actor=ACTOR, entity=entity, name=f"{scope} key", scope=scope).token)

    return key("full"), key("ingest")


def post_raw(api, path, body, content_type, **query):
    from urllib.parse import urlencode

    url = "/api/v1" + path + (f"?{urlencode(query)}" if query else "")
    response = api.client.post(url, data=body, content_type=content_type, headers=api.headers)
    response.body = response.json() if "json" in response.get("Content-Type", "") else None
    return response


def test_the_api_imports_a_statement_lists_and_matches_unmatched_entries(api):
    full, ingest = api
    response = post_raw(full, "/bank-statements", CAMT053, "application/xml", file_name="day.xml")
    assert response.status_code == 201, response.body
    assert (response.body["new"], response.body["matched"], response.body["unmatched"]) == (6, 3, 2)
    assert post_raw(full, "/bank-statements", CAMT053, "text/xml").body["duplicate"] == 6
    page = full.get("/bank-entries", state="unmatched").body
    assert [e["reference"] for e in page["items"]] == ["2026020500004/2", "2026020500003"]
    entry_id = page["items"][1]["id"]
    matched = full.post(f"/bank-entries/{entry_id}/match", {"invoice": "INV-000004"})
    assert matched.status_code == 200, matched.body
    assert (matched.body["state"], matched.body["invoice"], matched.body["amount"]) == (
        "matched",
        "INV-000004",
        "14.00",
    )
    assert full.post(f"/bank-entries/{entry_id}/match", {"invoice": "INV-000004"}).status_code == 409
    assert full.post(f"/bank-entries/{entry_id}/match", {"invoice": "NOPE"}).status_code == 422
    assert full.post("/bank-entries/999999/match", {"invoice": "INV-000004"}).status_code == 404
    assert post_raw(ingest, "/bank-statements", CAMT053, "application/xml").status_code == 403
    assert ingest.get("/bank-entries").status_code == 403


def test_the_api_takes_a_csv_and_refuses_other_media_types_and_bad_files(api):
    full, _ = api
    columns = ",".join(f"{k}={v}" for k, v in COLUMNS.items())
    response = post_raw(full, "/bank-statements", BANK_CSV, "text/csv", columns=columns, account="DE89")
    assert response.status_code == 201, response.body
    assert [p["row"] for p in response.body["problems"]] == [3, 5]
    assert post_raw(full, "/bank-statements", CAMT053, "application/json").status_code == 415
    assert post_raw(full, "/bank-statements", b"", "application/xml").status_code == 400
    bad = post_raw(full, "/bank-statements", CAMT053.replace(b">3.00</Amt>", b">x</Amt>", 1), "application/xml")
    assert bad.status_code == 422
    assert bad.body["errors"][0]["field"] == "Stmt[1]/Ntry[2]/Amt"
    assert "Stmt[1]/Ntry[2]/Amt: not a decimal number" in bad.body["detail"]


@pytest.mark.django_db(transaction=True)
def test_the_cli_imports_lists_and_matches(entity, invoices, tmp_path, capsys, monkeypatch):
    from leadbill.cli.main import main
    from leadbill.cli.output import console

    monkeypatch.setattr(console, "width", 200)  # wide enough for every column of the unmatched table

    path = tmp_path / "day.xml"
    path.write_bytes(CAMT053)
    assert main(["bank", "import", str(path), "--entity", entity.slug]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps at the terminal's width
    assert "day.xml: 6 new entries (3 matched, 2 unmatched, 1 debits ignored), 0 imported before" in out
    assert "2026020500003" in out and "Unknown Payer" in out
    assert main(["bank", "unmatched", "--entity", entity.slug]) == 0
    assert "2026020500004/2" in capsys.readouterr().out
    entry = BankEntry.objects.get(reference="2026020500003")
    assert main(["bank", "match", str(entry.pk), "INV-000004", "--entity", entity.slug]) == 0
    assert "recorded as a payment of INV-000004, now paid" in " ".join(capsys.readouterr().out.split())
    assert main(["bank", "match", str(entry.pk), "INV-000004", "--entity", entity.slug]) == 2
    assert "matched already" in capsys.readouterr().err
    csv_path = tmp_path / "bank.csv"
    csv_path.write_bytes(BANK_CSV)
    columns = ",".join(f"{k}={v}" for k, v in COLUMNS.items())
    assert main(["bank", "import", str(csv_path), "--entity", entity.slug, "--format", "csv",
                 "--columns", columns, "--json"]) == 0  # fmt: skip
    assert '"refused_rows": 2' in capsys.readouterr().out


def test_finance_imports_a_statement_and_matches_the_rest_in_the_console(entity, invoices):
    import html

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from leadbill.web.services import staff_add

    staff_add(
        actor=ACTOR, entity=entity, email="fin@bank.test", name="Fin", role="finance", password="pw-Long-enough-1"
    )
    client = Client()
    assert client.login(username="fin@bank.test", password="pw-Long-enough-1")
    upload = SimpleUploadedFile("day.xml", CAMT053, content_type="application/xml")
    page = html.unescape(client.post(f"/console/{entity.slug}/bank/import/", {"file": upload}, follow=True)
                         .content.decode())  # fmt: skip
    assert "day.xml: 6 new entries (3 matched, 2 unmatched, 1 debits ignored), 0 imported before" in page
    assert "Unknown Payer" in page and "Not matched (2)" in page
    entry = BankEntry.objects.get(reference="2026020500003")
    page = html.unescape(client.post(f"/console/{entity.slug}/bank/entries/{entry.pk}/match/",
                                     {"invoice": "INV-000004"}, follow=True).content.decode())  # fmt: skip
    assert "recorded as a payment of INV-000004." in page and "Not matched (1)" in page
    page = html.unescape(client.post(f"/console/{entity.slug}/bank/entries/{entry.pk}/match/",
                                     {"invoice": "INV-000004"}, follow=True).content.decode())  # fmt: skip
    assert "Not matched:" in page
    again = SimpleUploadedFile("day.xml", CAMT053, content_type="application/xml")
    page = html.unescape(client.post(f"/console/{entity.slug}/bank/import/", {"file": again}, follow=True)
                         .content.decode())  # fmt: skip
    assert "0 new entries" in page and "6 imported before" in page


def test_a_bank_amount_beyond_any_amount_leadbill_takes_is_a_problem_row_not_a_payment():
    """The same bound as every typed or sent amount (`amount_from_text`): a bank-file typo is not credit."""
    content = b"Booking date,Amount,Text\n2026-03-02,50000000000000.00,INV-1\n2026-03-03,12.50,INV-2\n"
    parsed = bankfiles.parse_csv(content, {"date": "Booking date", "amount": "Amount", "text": "Text"},
                                 account="csv", currency="USD", name="s.csv")  # fmt: skip
    assert [line.amount_minor for line in parsed.lines] == [1250]  # the good row beside it is kept
    assert len(parsed.problems) == 1 and "beyond any amount" in str(parsed.problems[0])
    too_big = CAMT053.replace(b'<Amt Ccy="USD">3.00</Amt>', b'<Amt Ccy="USD">50000000000000.00</Amt>', 1)
    assert "beyond any amount" in refused(too_big)
