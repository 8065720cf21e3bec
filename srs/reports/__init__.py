"""Supervisor reports: aggregates, dashboard, drill-down lists, monthly PDF."""
