"""Placeholder: filled by its family work."""
