"""The webhook tests use `fake_dns` from tests/conftest.py: chosen names resolve without the network."""
