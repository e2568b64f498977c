"""Adapters that render what core computes for people: report text, charts and spreadsheets."""
