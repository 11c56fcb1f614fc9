"""The pillars feature: game-design pillars and their LLM operations."""
