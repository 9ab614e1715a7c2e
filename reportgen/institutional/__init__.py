"""Institutional outcome reports (``kind: institutional``): a registry's data -> protected results,
tables, figures and a plain-language report for the whole institution and for each unit."""
