"""Evaluation: every metric (`metrics`), the temporal split (`split`) and the comparison
tables of methods and peers (`compare`). Nothing outside this package defines a metric."""
