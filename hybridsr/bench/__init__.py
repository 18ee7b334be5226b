"""Benchmark runs: judging formulas against true laws, running methods on suites, tables."""
