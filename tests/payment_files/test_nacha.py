"""NACHA files: 94-character records, counts, entry hash, totals and blocking; the bank CSV parses back."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadbill.payment_files import services as pf
from leadbill.payment_files.builders import Batch, Payment, bankcsv, nacha
from tests.payment_files.conftest import ACH, ACTOR, set_bank

ROUTINGS = ("011000015", "121000358", "021000021", "026009593", "111000025")


def batch(amounts: list[int], *, remittance: str = "SB-US0-000001") -> Batch:
    payments = tuple(
        Payment(end_to_end_id=f"7-{i}", name=f"Supplier Ñumber {i}", amount_minor=amount, remittance=remittance,
                routing_number=ROUTINGS[i % len(ROUTINGS)], account_number=f"{1000 + i}")
        for i, amount in enumerate(amounts)
    )  # fmt: skip
    return Batch(message_id="LB20261207-7", created_at=datetime(2026, 12, 7, 9, 30), execution_date=date(2026, 12, 8),
                 currency="USD", payer_name="Hudson Leads Inc", payments=payments, ach=dict(ACH))  # fmt: skip


def test_every_record_is_94_characters_and_the_file_is_blocked_by_ten():
    lines = nacha.build(batch([123456, 99, 1])).decode("ascii").split("\r\n")[:-1]
    assert all(len(line) == 94 for line in lines)
    assert len(lines) % 10 == 0
    assert [line[0] for line in lines] == ["1", "5", "6", "7", "6", "7", "6", "7", "8", "9"]
    header, batch_header = lines[0], lines[1]
    assert header[:3] == "101" and header[3:13] == " 021000021" and header[13:23] == "1234567890"
    assert header[23:29] == "261207" and header[29:33] == "0930" and header[34:40] == "094101"
    assert batch_header[1:4] == "220" and batch_header[50:53] == "CCD" and batch_header[69:75] == "261208"
    assert batch_header[79:87] == "02100002"


def test_counts_entry_hash_and_totals_add_up():
    lines = nacha.build(batch([123456, 99, 1])).decode("ascii").split("\r\n")[:-1]
    entries = [line for line in lines if line[0] == "6"]
    assert [e[1:3] for e in entries] == ["22", "22", "22"]  # credits to checking accounts
    assert [int(e[29:39]) for e in entries] == [123456, 99, 1]
    assert [e[3:12] for e in entries] == list(ROUTINGS[:3])
    expected_hash = (1100001 + 12100035 + 2100002) % 10**10  # the receiving DFIs' first 8 digits
    control = next(line for line in lines if line[0] == "8")
    assert int(control[4:10]) == 6  # three entries and their three addenda
    assert int(control[10:20]) == expected_hash
    assert int(control[20:32]) == 0 and int(control[32:44]) == 123556
    file_control = next(line for line in lines if line[0] == "9" and line != "9" * 94)
    assert int(file_control[1:7]) == 1 and int(file_control[7:13]) == 1 and int(file_control[13:21]) == 6
    assert int(file_control[21:31]) == expected_hash and int(file_control[43:55]) == 123556
    assert entries[0][79:94] == "021000020000001"  # trace: the ODFI and the entry's sequence
    addenda = [line for line in lines if line[0] == "7"]
    assert addenda[0][3:83].rstrip() == "SB-US0-000001" and addenda[0][87:94] == "0000001"


def test_names_are_upper_case_ascii_within_their_field():
    entry = next(line for line in nacha.records(batch([5])) if line[0] == "6")
    assert entry[54:76] == "SUPPLIER NUMBER 0".ljust(22)


def test_an_entry_beyond_ten_digits_of_cents_is_refused():
    with pytest.raises(nacha.NachaError, match="between"):
        nacha.build(batch([10**10]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=nacha.MAX_AMOUNT_MINOR), min_size=1, max_size=40), st.booleans())
def test_any_file_reads_back_to_its_payments(amounts, with_addenda):
    lines = nacha.records(batch(amounts, remittance="SB-1" if with_addenda else ""))
    assert all(len(line) == nacha.RECORD_LENGTH for line in lines)
    assert len(lines) % nacha.BLOCKING_FACTOR == 0
    totals = nacha.totals(lines)
    assert totals.entries == len(amounts) and totals.credit_minor == sum(amounts)
    assert totals.addenda == (len(amounts) if with_addenda else 0)
    assert totals.records == 4 + totals.entries + totals.addenda
    assert totals.blocks == -(-totals.records // 10)
    file_control = lines[totals.records - 1]
    assert int(file_control[7:13]) == totals.blocks and int(file_control[21:31]) == totals.entry_hash


def test_a_nacha_file_of_ready_usd_payouts(usd):
    file = pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="nacha", payout_ids=[p.pk for p in usd.payouts])
    lines = bytes(file.content).decode("ascii").split("\r\n")[:-1]
    totals = nacha.totals(lines)
    assert (totals.entries, totals.credit_minor) == (2, 123456 + 9999) == (file.count, file.total_minor)
    assert file.name.endswith(".ach") and file.media_type == "text/plain"
    assert lines[0][33] == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(file.pk - 1) % 36]


def test_nacha_needs_the_entitys_ach_settings(usd):
    usd.entity.ach_originator.delete()
    with pytest.raises(pf.DomainError, match="no ACH originator settings"):
        pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="nacha", payout_ids=[usd.payouts[0].pk])


def test_a_bad_routing_number_is_named(usd):
    set_bank(usd.suppliers[0], routing_number="011000016")
    with pytest.raises(pf.PaymentFileError) as caught:
        pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="nacha", payout_ids=[p.pk for p in usd.payouts])
    (problem,) = caught.value.problems
    assert (problem.partner, problem.field) == ("us0", "routing_number")
    assert "not a valid ABA routing number" in problem.message


def test_eur_payouts_do_not_go_into_a_usd_file(usd, eur):
    with pytest.raises(pf.DomainError, match="no payout"):
        pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="nacha", payout_ids=[eur.payouts[0].pk])


def test_the_bank_csv_parses_back_with_its_documented_columns(usd):
    file = pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="bank_csv",
                                  payout_ids=[p.pk for p in usd.payouts])  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(bytes(file.content).decode("utf-8"))))
    assert tuple(rows[0]) == bankcsv.COLUMNS
    assert [(r["payee_code"], r["routing_number"], r["account_number"], Decimal(r["amount"])) for r in rows] == [
        ("us0", "011000015", "12345678", Decimal("1234.56")), ("us1", "121000358", "0009876543210", Decimal("99.99"))
    ]  # fmt: skip
    assert {r["currency"] for r in rows} == {"USD"} and {r["account_type"] for r in rows} == {"checking"}


def test_the_bank_csv_is_spreadsheet_safe(usd):
    profile = usd.suppliers[0].seller_profile
    type(profile).objects.filter(pk=profile.pk).update(legal_name='=HYPERLINK("http://x")')
    file = pf.payment_file_create(actor=ACTOR, entity=usd.entity, kind="bank_csv", payout_ids=[usd.payouts[0].pk])
    (row,) = csv.DictReader(io.StringIO(bytes(file.content).decode("utf-8")))
    assert row["payee_name"] == '\'=HYPERLINK("http://x")'


def test_ach_settings_are_checked_by_field(usd):
    with pytest.raises(pf.AchSettingsError) as caught:
        pf.ach_originator_set(actor=ACTOR, entity=usd.entity, values={"odfi_routing": "021000022", "entry_class": "WEB",
                                                                      "company_name": "A" * 17})  # fmt: skip
    assert set(caught.value.problems) == {"odfi_routing", "entry_class", "company_name"}
    assert "ABA routing" in caught.value.problems["odfi_routing"]
    changed = pf.ach_originator_set(actor=ACTOR, entity=usd.entity, values={"company_name": "Hudson Payouts"})
    assert changed.company_name == "HUDSON PAYOUTS" and changed.odfi_routing == "021000021"  # the rest kept


@pytest.mark.parametrize("value", ["²", "١٢", "12 ", "-1", "1234567890"])
def test_a_numeric_field_takes_only_ascii_digits_that_fit(value):
    with pytest.raises(nacha.NachaError, match="does not fit"):
        nacha.numeric(value, 9)
    assert nacha.numeric("0042", 9) == "000000042"
