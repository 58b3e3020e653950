"""Settings shared by the whole suite.

Hypothesis' default deadline (200 ms per example) is a timing threshold: on a busy
2-core machine a first example that pays an import or a JIT compile exceeds it and
the test fails for no fault of the code. perflab puts no timing into tests (speed is
measured in ``benchmarks/``), so the deadline is off for every property test.
"""

from hypothesis import settings

settings.register_profile("perflab", deadline=None)
settings.load_profile("perflab")
