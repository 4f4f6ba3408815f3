"""`leadbill invoices pdf|einvoice` and `leadbill report` write what a user asked for, and say so."""

import csv
import io
from datetime import UTC, datetime

import pytest

from leadbill.cli.main import main
from leadbill.invoicing.models import Invoice
from tests.factories import make_deliveries, make_entity, make_partner, make_plan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def invoiced():
    entity = make_entity(slug="acme", timezone="UTC", currency="EUR", invoice_prefix="A-", default_tax_rate_bp=1900,
                         iban="DE89370400440532013000", phone="+49 40 555 0100")  # fmt: skip
    partner = make_partner(entity, code="blue", tax_id="DE665412091", report_fields=["state"])
    make_plan(partner, "flat", {"price": "2.50"})
    make_deliveries(partner, 4, datetime(2026, 1, 5, tzinfo=UTC))
    assert main(["run", "issue", "--entity", "acme", "--period", "2026-01", "--issue-date", "2026-02-01"]) == 0
    return Invoice.objects.get()


def test_invoices_pdf_and_einvoice_write_files(invoiced, tmp_path, capsys):
    assert main(["invoices", "pdf", invoiced.number, "-o", str(tmp_path)]) == 0
    assert main(["invoices", "einvoice", invoiced.number, "--format", "facturx", "-o", str(tmp_path)]) == 0
    assert main(["invoices", "einvoice", invoiced.number, "--format", "ubl", "-o", str(tmp_path / "x.xml")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'A-000001.pdf'}" in out and "A-000001-facturx.pdf" in out
    assert (tmp_path / "A-000001.pdf").read_bytes().startswith(b"%PDF-")
    assert b"urn:fdc:peppol.eu:2017:poacc:billing:3.0" in (tmp_path / "x.xml").read_bytes()


def test_einvoice_without_peppol_address_is_a_clear_error(invoiced, capsys):
    from leadbill.partners.models import Partner

    Invoice.objects.filter(pk=invoiced.pk).update(buyer={**invoiced.buyer, "tax_id": "", "peppol_id": ""})
    assert Partner.objects.filter(code="blue").exists()
    assert main(["invoices", "einvoice", invoiced.number, "--format", "ubl", "-o", "-"]) == 2
    assert "partner 'blue' has no Peppol participant id" in capsys.readouterr().err


def test_report_csv_to_stdout_and_pdf_to_file(invoiced, tmp_path, capsysbinary):
    args = ["report", "--entity", "acme", "--partner", "blue", "--from", "2026-01-01", "--to", "2026-01-31"]
    assert main(args) == 0
    rows = list(csv.DictReader(io.StringIO(capsysbinary.readouterr().out.decode())))
    assert [(r["billed_price"], r["invoice"]) for r in rows] == [("2.50", invoiced.number)] * 4
    assert main([*args, "--format", "pdf", "-o", str(tmp_path / "r.pdf")]) == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")


def test_report_names_an_unknown_lead_type(invoiced, capsys):
    code = main(["report", "--entity", "acme", "--partner", "blue", "--from", "2026-01-01", "--to", "2026-01-31",
                 "--lead-type", "boats"])  # fmt: skip
    assert code == 2
    assert "unknown lead type 'boats'" in capsys.readouterr().err
