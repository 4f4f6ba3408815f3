"""Tax ids, IBANs, BICs and Peppol ids are checked by their country's (or scheme's) own rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schwifty import IBAN
from stdnum.iso7064 import mod_11_10

from leadbill.domain import identifiers, peppol
from leadbill.domain.errors import DomainError


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("DE136695976", "DE", "DE136695976"),
        ("de 136 695 976", "DE", "DE136695976"),  # compact, upper case
        ("EL094259216", "GR", "EL094259216"),  # Greece's VAT prefix is EL
        ("CHE-107.787.577 IVA", "CH", "CHE107787577IVA"),
        ("GB980780684", "GB", "GB980780684"),
        ("FR40303265045", "FR", "FR40303265045"),
        ("12-3456789", "US", "12-3456789"),  # an EIN keeps its usual spelling
        ("12/345/67890", "DE", "12/345/67890"),  # a German Steuernummer, not a VAT number
        ("FR40303265045", "", "FR40303265045"),  # no country: the prefix decides
        ("whatever 1", "ZZ", "whatever 1"),  # a country without rules keeps what was typed
        ("", "DE", ""),
    ],
)
def test_valid_tax_ids_are_kept(value, country, expected):
    assert identifiers.tax_id(value, country) == expected


@pytest.mark.parametrize(
    ("value", "country", "message"),
    [
        ("DE123456789", "DE", "not a valid DE VAT number (check digit does not match): 'DE123456789'"),
        ("DE13669597", "DE", "not a valid DE VAT number (wrong length): 'DE13669597'"),
        ("GR094259216", "GR", "a VAT number of GR starts with EL, got 'GR094259216'"),
        ("DE136695976", "FR", "a VAT number of FR starts with FR, got 'DE136695976'"),
        ("US12-3456789", "US", "not a valid tax id for US (checked as EIN, TIN): 'US12-3456789'"),
        ("07-1234567", "US", "not a valid tax id for US (checked as EIN, TIN): '07-1234567'"),
        ("DE123456789", "", "not a valid DE VAT number (check digit does not match): 'DE123456789'"),
        ("9" * 41, "DE", "at most 40 characters"),
    ],
)
def test_wrong_tax_ids_are_refused_saying_why(value, country, message):
    with pytest.raises(DomainError) as caught:
        identifiers.tax_id(value, country)
    assert caught.value.message == message


@given(body=st.from_regex(r"[1-9][0-9]{7}", fullmatch=True), wrong=st.integers(1, 9))
def test_a_german_vat_number_passes_only_with_its_own_check_digit(body, wrong):
    check = mod_11_10.calc_check_digit(body)
    assert identifiers.tax_id(f"DE{body}{check}", "DE") == f"DE{body}{check}"
    with pytest.raises(DomainError, match="check digit does not match"):
        identifiers.tax_id(f"DE{body}{(int(check) + wrong) % 10}", "DE")


@given(bank=st.from_regex(r"[0-9]{8}", fullmatch=True), account=st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_an_iban_passes_only_with_its_own_check_digits(bank, account):
    iban = IBAN.generate("DE", bank_code=bank, account_code=account)
    assert identifiers.iban(iban.formatted) == iban.compact
    wrong = f"{iban.compact[:2]}{(int(iban.compact[2:4]) + 1) % 100:02d}{iban.compact[4:]}"
    with pytest.raises(DomainError, match="not a valid IBAN"):
        identifiers.iban(wrong)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("DE89370400440532013001", "not a valid IBAN (Invalid checksum digits)"),
        ("DE00 1", "not a valid IBAN (Invalid IBAN length)"),
        ("XX89370400440532013000", "not a valid IBAN (Unknown country-code 'XX')"),
    ],
)
def test_wrong_ibans_are_refused_saying_why(value, message):
    with pytest.raises(DomainError) as caught:
        identifiers.iban(value)
    assert caught.value.message == message


def test_a_bic_needs_8_or_11_characters_and_a_real_country():
    assert identifiers.bic("deut de ff 500") == "DEUTDEFF500"
    for value, message in [("DEUTXXFF", "Invalid country code 'XX'"), ("ABC", "Invalid length '3'")]:
        with pytest.raises(DomainError) as caught:
            identifiers.bic(value)
        assert caught.value.message == f"not a valid BIC ({message}), e.g. DEUTDEFF"


@pytest.mark.parametrize(
    "value",
    ["9930:DE136695976", "0088:5790000435968", "9959:12-3456789", "9957:FR40303265045", "0208:0403019261",
     "9933:EL094259216", "0060:123456789", "9922:AD123", "0192:974760673"],
)  # fmt: skip
def test_participant_ids_valid_in_their_scheme_pass(value):
    assert peppol.check_participant_id(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9930:DE123456789", "9930:DE123456789 is not a valid VAT number of DE (DE…)"),
        ("9930:FR40303265045", "9930:FR40303265045 is not a valid VAT number of DE (DE…)"),
        ("0088:5790000435967", "0088:5790000435967 is not a GLN (13 digits)"),
        ("9959:07-1234567", "9959:07-1234567 is not a US EIN"),
        ("0060:12345", "0060:12345 is not 9 digits"),
        ("0192:974760674", "0192:974760674 is not a Norwegian organisation number"),
    ],
)
def test_participant_ids_are_checked_by_their_scheme(value, message):
    with pytest.raises(DomainError) as caught:
        peppol.check_participant_id(value)
    assert caught.value.message == message
