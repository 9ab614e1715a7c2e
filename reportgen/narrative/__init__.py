"""Narrative stage: Results -> sentences, through helper filters used by the text templates."""
