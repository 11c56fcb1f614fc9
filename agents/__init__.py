"""Specialised agents of the agentic mode."""
