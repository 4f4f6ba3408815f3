"""A number from outside can never burn a worker or end in a 500 (review of 2026-12-04).

"1e999990" cost about 25 s of CPU per value once multiplied out to micro-units, and
"1e999999999" raised decimal.Overflow: a 500 from the API, the plan editor, its quote and the
payment, adjustment and top-up forms, and a traceback that aborted a whole CSV import.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from leadbill.cli.main import main
from leadbill.deliveries.models import Delivery
from leadbill.invoicing.models import Adjustment, Payment
from tests.api.conftest import delivery
from tests.webworld import STAFF, Site

HOSTILE = ["1e999990", "1e999999999", "9" * 5000, "1" + "0" * 100, "١٢", "NaN", "-Infinity"]
QUICK = 2.0  # seconds for a whole request; each value is answered in well under a millisecond


@pytest.mark.django_db
def test_an_api_batch_names_each_hostile_price_and_keeps_the_valid_rows(world):
    rows = [delivery(0, price="2.50")] + [delivery(i + 1, price=p) for i, p in enumerate(HOSTILE)]
    started = time.perf_counter()
    response = world.ingest.post("/deliveries/batch", {"deliveries": rows})
    assert time.perf_counter() - started < QUICK
    assert response.status_code == 200, response.body
    errors = {e["row"]: e for e in response.body["errors"]}
    assert sorted(errors) == list(range(1, len(HOSTILE) + 1))
    assert all(e["field"] == "price" and e["pointer"].endswith("/price") for e in errors.values())
    assert list(Delivery.objects.filter(entity=world.entity).values_list("external_id", flat=True)) == ["ext-0"]


@pytest.mark.django_db(transaction=True)
def test_a_csv_import_reports_hostile_prices_by_row_and_keeps_the_good_rows(world, tmp_path: Path, capsys):
    lines = ["external_id,partner,profile,lead_type,lead_id,delivered_at,price,currency"]
    lines.append("ok-1,acme,,auto,L1,2026-01-05T10:00:00Z,2.50,EUR")
    lines += [f"bad-{i},acme,,auto,B{i},2026-01-05T10:00:00Z,{p},EUR" for i, p in enumerate(HOSTILE)]
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    code = main(["import", "deliveries", str(path), "--entity", world.entity.slug])
    assert time.perf_counter() - started < QUICK
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert code in (0, 1)  # a file with bad rows is reported, not a crash
    for row in range(3, 3 + len(HOSTILE)):
        assert f"row {row}, price:" in out.out + out.err
    assert Delivery.objects.filter(external_id="ok-1").exists()
    assert not Delivery.objects.filter(external_id__startswith="bad-").exists()


@pytest.mark.parametrize("value", HOSTILE)
def test_console_money_forms_refuse_hostile_amounts_with_the_field_named(site: Site, value):
    finance = site.login(STAFF["finance"])
    started = time.perf_counter()
    pages = [
        finance.post(f"/console/leadco/invoices/{site.acme_invoice.number}/payments/", {"amount": value},
                     follow=True),
        finance.post("/console/leadco/partners/acme/adjustments/",
                     {"direction": "credit", "amount": value, "reason": "x"}, follow=True),
        finance.post("/console/leadco/partners/blue/topups/", {"amount": value}, follow=True),
        finance.post("/console/leadco/partners/acme/plans/quote/", {"model": "flat", "price": value}),
        finance.post("/console/leadco/partners/acme/plans/new/",
                     {"model": "flat", "effective_from": "2026-03-01", "price": value}),
    ]  # fmt: skip
    assert time.perf_counter() - started < 5 * QUICK
    for response in pages:
        assert response.status_code in (200, 400), response.status_code
    assert not Payment.objects.filter(invoice=site.acme_invoice).exists()
    assert not Adjustment.objects.filter(partner=site.acme).exists()


@pytest.mark.django_db
def test_a_set_up_file_with_a_hostile_price_is_refused_naming_the_path(tmp_path: Path, capsys):
    text = io.StringIO()
    text.write(
        "version: 1\nentities:\n  - slug: unit\n    legal_name: Unit Ltd\n    address: {country: US}\n"
        "    currency: USD\n    timezone: America/New_York\n    invoice_prefix: U-\n"
        "    lead_types: [{code: auto, name: Auto}]\n    partners:\n      - code: buyer\n        name: Buyer\n"
        "        plans: [{model: flat, price: 1e999999999, from: 2026-01-01}]\n"
    )
    path = tmp_path / "setup.yaml"
    path.write_text(text.getvalue())
    started = time.perf_counter()
    assert main(["load", str(path)]) == 2
    assert time.perf_counter() - started < QUICK
    err = capsys.readouterr().err
    assert "Traceback" not in err and "1e999999999" in err
