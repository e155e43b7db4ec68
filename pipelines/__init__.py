"""Runnable Beam pipelines and their options."""
