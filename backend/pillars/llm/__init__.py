"""LLM operations of the pillars feature (registered on import of ``handlers``)."""
