"""Default account mappings for the demo and for an entity that has not set its own.

- `skr03`: DATEV's SKR03 (Standardkontenrahmen 03), for a EUR entity booking in Germany. Receivables
  and payables are the first personal accounts (Debitor 10000, Kreditor 70000) because the SKR03
  collective accounts 1400/1600 are automatic accounts DATEV does not take postings on; the tax
  lines carry the BU-Schlüssel (3: USt 19 %, 2: USt 7 %, 9: VSt 19 %, 8: VSt 7 %) and the tax
  accounts (1776/1771 output, 1576/1571 input) are where DATEV books them.
- `us`: a plain US chart (QuickBooks Online's default account numbers where it has them), sales tax
  codes TAX / NON as QuickBooks Online US names them, Xero's OUTPUT / INPUT / NONE tax types.
"""

from __future__ import annotations

from typing import Any

CHARTS: dict[str, dict[str, Any]] = {
    "skr03": {
        "receivables": "10000",
        "payables": "70000",
        "cash": "1200",
        "revenue": "8400",
        "cost": "3100",
        "contra_revenue": "",
        "tax_payable": "1776",
        "tax_receivable": "1576",
        "other": "2400",
        "account_length": 4,
        "tax_rates": [
            {"rate_bp": 1900, "payable": "1776", "receivable": "1576", "sales_code": "3", "purchase_code": "9"},
            {"rate_bp": 700, "payable": "1771", "receivable": "1571", "sales_code": "2", "purchase_code": "8"},
        ],
    },
    "us": {
        "receivables": "1200",
        "payables": "2000",
        "cash": "1000",
        "revenue": "4000",
        "cost": "5000",
        "contra_revenue": "",
        "tax_payable": "2200",
        "tax_receivable": "1300",
        "other": "6900",
        "account_length": 4,
        "tax_rates": [{"rate_bp": 0, "payable": "", "receivable": "", "sales_code": "NON", "purchase_code": "NON"}],
    },
}


def chart_for(currency: str) -> str:
    return "skr03" if currency == "EUR" else "us"


def default_columns(currency: str, chart: str | None = None) -> dict[str, Any]:
    """The AccountMapping columns of a chart (by the entity's currency when not named)."""
    name = chart or chart_for(currency)
    values = CHARTS[name]
    return {**values, "tax_rates": [dict(t) for t in values["tax_rates"]], "chart": name,
            "cash_by_currency": {}, "revenue_by_lead_type": {}, "cost_by_lead_type": {}}  # fmt: skip
