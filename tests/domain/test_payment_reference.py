from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from leadbill.domain.payment_reference import body_of, rf_body, rf_printed, rf_reference


def test_an_invoice_number_gives_a_valid_rf_reference_printed_in_groups_of_four():
    assert rf_reference("INV-000021") == "RF14INV000021"
    assert rf_printed("RF14INV000021") == "RF14 INV0 0002 1"
    assert rf_body("RF14 INV0 0002 1") == "INV000021" == body_of("INV-000021")


def test_a_mistyped_reference_is_not_taken_for_one():
    assert rf_body("RF15INV000021") is None and rf_body("INV-000021") is None


@given(number=st.from_regex(r"[A-Z]{1,6}-(CN-)?[0-9]{1,12}", fullmatch=True))
def test_every_document_number_has_a_reference_that_validates_and_reads_back(number):
    reference = rf_reference(number)
    assert iso11649.is_valid(reference) and len(reference) <= 25
    assert rf_body(rf_printed(reference)) == body_of(number)
