"""Table stage: Results -> neutral table models -> HTML / CSV."""
