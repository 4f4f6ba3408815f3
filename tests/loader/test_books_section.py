"""The set-up file's books: section: the chart's defaults, each key replacing one, every bad value named."""

from __future__ import annotations

import pytest

from leadbill.books.models import AccountMapping
from leadbill.loader.schema import SetupFileError, parse_document
from leadbill.loader.services import setup_load, setup_read
from tests.loader.helpers import example_text, minimal


def books(block: str | None):
    text = minimal(entity_extra=block or "")
    return parse_document(text).entities[0].books


def test_left_out_the_mapping_is_not_touched():
    assert books(None) is None


def test_the_chart_gives_defaults_and_each_key_replaces_one():
    columns = books("""    books:
      chart: us
      cash: "1010"
      cash_by_currency: {EUR: "1020"}
      revenue_by_lead_type: {auto: "4010"}
      contra_revenue: "4900"
      tax_rates: [{rate: 8.5, payable: "2210", sales_code: TAX}]
      datev: {consultant: 1001, client: 10001, fiscal_year_start_month: 7}""")
    assert (columns["chart"], columns["receivables"], columns["cash"], columns["contra_revenue"]) == (
        "us",
        "1200",
        "1010",
        "4900",
    )
    assert (columns["cash_by_currency"], columns["revenue_by_lead_type"]) == ({"EUR": "1020"}, {"auto": "4010"})
    assert columns["tax_rates"] == [{"rate_bp": 850, "payable": "2210", "receivable": "", "sales_code": "TAX",
                                     "purchase_code": ""}]  # fmt: skip
    assert (columns["datev_consultant"], columns["datev_client"], columns["fiscal_year_start_month"]) == (
        1001,
        10001,
        7,
    )


def test_a_usd_entity_defaults_to_the_us_chart_and_numbers_may_be_unquoted():
    columns = books("    books: {receivables: 1100}")
    assert (columns["chart"], columns["receivables"], columns["payables"]) == ("us", "1100", "2000")


@pytest.mark.parametrize(
    ("block", "path", "message"),
    [
        ('    books: {cash: "=SUM(A1)"}', "entities[0].books.cash", "an account code"),
        ('    books: {cash: ""}', "entities[0].books.cash", "must not be empty"),
        ("    books: {chart: skr04}", "entities[0].books.chart", "one of skr03, us"),
        (
            '    books: {revenue_by_lead_type: {roofing: "8402"}}',
            "entities[0].books.revenue_by_lead_type.roofing",
            "no lead type 'roofing'",
        ),
        ('    books: {cash_by_currency: {EURO: "1"}}', "entities[0].books.cash_by_currency.EURO", "at most 3"),
        ('    books: {cash_by_currency: {XYZ: "1"}}', "entities[0].books.cash_by_currency.XYZ", "XYZ"),
        (
            "    books: {tax_rates: [{rate: 19}, {rate: 19.00}]}",
            "entities[0].books.tax_rates[1].rate",
            "already given at entities[0].books.tax_rates[0]",
        ),
        (
            '    books: {tax_rates: [{rate: 19, sales_code: "+19"}]}',
            "entities[0].books.tax_rates[0].sales_code",
            "a tax code",
        ),
        ("    books: {datev: {consultant: 99}}", "entities[0].books.datev.consultant", "from 1001 to 9999999"),
        (
            "    books: {datev: {fiscal_year_start_month: 13}}",
            "entities[0].books.datev.fiscal_year_start_month",
            "from 1 to 12",
        ),
        ('    books: {receivable: "1400"}', "entities[0].books.receivable", "did you mean 'receivables'?"),
    ],
)
def test_a_bad_value_is_named_at_its_path(block, path, message):
    with pytest.raises(SetupFileError) as exc:
        books(block)
    found = [p for p in exc.value.problems if p.path == path]
    assert found, exc.value.problems
    assert message in found[0].message, found[0].message


def test_every_bad_key_of_the_section_is_reported_in_one_pass():
    with pytest.raises(SetupFileError) as exc:
        books('    books: {cash: "=1", payables: "-2", revenue_by_lead_type: {nope: "1"}}')
    assert {p.path for p in exc.value.problems} == {
        "entities[0].books.cash", "entities[0].books.payables", "entities[0].books.revenue_by_lead_type.nope",
    }  # fmt: skip


@pytest.mark.django_db
def test_loading_the_example_stores_the_mapping_and_reloading_changes_nothing():
    result = setup_load(actor="test", document=setup_read(example_text()))
    assert result.counts["books"]["created"] == 1
    row = AccountMapping.objects.get(entity__slug="acme-eu")
    assert (row.chart, row.receivables, row.revenue_by_lead_type, row.datev_consultant) == ("skr03", "10000",
                                                                                           {"solar": "8401"}, 1001)  # fmt: skip
    again = setup_load(actor="test", document=setup_read(example_text()))
    assert again.counts["books"] == {"created": 0, "updated": 0, "unchanged": 1}
