"""Analyses: cohort data in, plain result objects with unrounded numbers out."""
