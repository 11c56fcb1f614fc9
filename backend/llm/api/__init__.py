"""The orchestrator's REST API (Django REST Framework)."""
