"""Clients, households, ID numbers, duplicates, search and bulk import."""
