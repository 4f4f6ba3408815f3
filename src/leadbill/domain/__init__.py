"""The pure core: money, rounding, periods, pricing, tax and invoice arithmetic.

Nothing here imports Django, reads the clock or reads settings; every function is a
function of its arguments, so a re-run of invoice generation can be diffed against
what was issued.
"""
