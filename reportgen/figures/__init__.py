"""Figures stage: Results (KM step tables, estimates) in, matplotlib Figures and SVG/PNG files out."""
