"""The one place where amounts are rounded.

Rules (docs/decisions/rounding.md):
- a line's net amount is quantity x unit price, rounded half-up once to the
  currency's minor unit;
- tax is computed per rate on the sum of the line nets, rounded half-up
  (EN 16931 BR-CO-17);
- totals are sums of rounded parts and are never rounded again;
- a line's amount is shared over its leads by cumulative rounding, so the per-lead
  amounts of any line sum exactly to the line.

The integer forms (`*_micros_*`) are mirrored in SQL by the invoice run, which
allocates per-lead amounts set-based; tests hold the two equal.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from leadbill.domain.money import MICROS_EXPONENT, exponent


def to_minor_half_up(amount: Decimal, currency: str) -> int:
    """Round a decimal amount half-up (away from zero on .5) to integer minor units."""
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_divisor(currency: str) -> int:
    """How many micro-units make one minor unit of the currency."""
    # int ** int is typed Any (a negative exponent gives a float); ours is never negative.
    return int(10 ** (MICROS_EXPONENT - exponent(currency)))


def micros_to_minor_half_up(micros: int, currency: str) -> int:
    """Integer half-up rounding of a micro-unit amount to minor units (sign-aware)."""
    divisor = micros_divisor(currency)
    if micros < 0:
        return -((-micros + divisor // 2) // divisor)
    return (micros + divisor // 2) // divisor


def line_amount_minor(quantity: int, unit_price_micros: int, currency: str) -> int:
    """Net amount of a line of `quantity` leads at one unit price, rounded once."""
    return micros_to_minor_half_up(quantity * unit_price_micros, currency)


def cumulative_share_minor(index: int, unit_price_micros: int, currency: str) -> int:
    """Amount of the `index`-th lead (1-based) of a line at one unit price.

    The first k leads together carry exactly `line_amount_minor(k, ...)`, so the
    shares of a whole line sum to the line amount whatever the unit price.
    """
    return line_amount_minor(index, unit_price_micros, currency) - line_amount_minor(
        index - 1, unit_price_micros, currency
    )


def running_share_minor(running_micros: int, own_micros: int, currency: str) -> int:
    """Share of one lead whose own price ends a running sum (delivered-price lines)."""
    return micros_to_minor_half_up(running_micros, currency) - micros_to_minor_half_up(
        running_micros - own_micros, currency
    )


def tax_minor(net_minor: int, rate_percent: Decimal, currency: str) -> int:
    """Tax for one rate on the sum of the lines' nets at that rate, rounded once."""
    net = Decimal(net_minor).scaleb(-exponent(currency))
    return to_minor_half_up(net * rate_percent / Decimal(100), currency)
