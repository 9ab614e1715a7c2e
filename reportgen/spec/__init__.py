"""Study specification: YAML file -> validated ``Study`` model."""

from .load import json_schema, load_study, parse_study
from .model import DAYS_PER_UNIT, Covariate, Endpoint, Study

__all__ = ["DAYS_PER_UNIT", "Covariate", "Endpoint", "Study", "json_schema", "load_study", "parse_study"]
