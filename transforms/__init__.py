"""Beam DoFns and composite transforms; shared by the batch and streaming pipelines."""
