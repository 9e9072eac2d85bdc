"""Evaluation: records of a run, metrics against the truth, reports."""
