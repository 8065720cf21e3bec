"""Supervisor reports: aggregates, dashboard, drill-down lists and exports."""
