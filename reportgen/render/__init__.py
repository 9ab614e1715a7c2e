"""Render stage: Report -> HTML text and PDF bytes."""
