"""Agencies: the government bodies that run programmes and answer referrals.

Below accounts (agency staff belong to one) and programmes (each programme is run by one).
"""
