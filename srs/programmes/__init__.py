"""Agencies, programmes, eligibility rules, screening and simulation."""
