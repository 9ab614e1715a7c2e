"""reportgen: survival-analysis study reports from patient-level data and one YAML spec."""

__version__ = "0.1.0"
