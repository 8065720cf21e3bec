"""Reports tests use the factories of tests/cases/conftest.py."""
