"""Realistic demo data: two entities, ~30 buyers, every pricing model, ~50,000 deliveries."""
