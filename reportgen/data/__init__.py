"""Data stage: files -> raw frames -> validated ``Cohort`` with its participant flow."""
