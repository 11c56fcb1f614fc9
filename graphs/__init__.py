"""LangGraph graph definitions: each module exposes a compiled, module-level ``graph``."""
