"""Thesis experiments: a labelled dataset, deterministic scoring, a resumable and
replayable runner comparing monolithic and agentic runs, and a statistical report."""
