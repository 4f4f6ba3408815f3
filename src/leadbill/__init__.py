"""Leadbill: invoicing and self-billing for lead-distribution businesses."""

__version__ = "0.1.0"
