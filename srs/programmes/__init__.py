"""Programmes, eligibility rules, screening and simulation."""
