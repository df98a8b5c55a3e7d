"""The hostile-input corpus (make_corpus.py) used by tests/test_hostile.py and
benchmarks/bench_hostile.py (docs/testing.md, "Hostile-input suite")."""
