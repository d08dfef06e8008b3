"""Benchmarks of the assistant: NLU quality (HINT3, held-out set) and serving speed."""
