"""The chaos suite (issue 11): service processes SIGKILLed at random through a season of timers
and mail on PostgreSQL, then every invariant checked from the database and the relay.

`driver.run_chaos` runs it; `tests/integration/test_chaos.py` a short season in CI,
`bench/chaos.py` the full one. This package imports nothing: the service processes start from
`tests.chaos.serve`, and must not pay for the driver's imports at every restart.
"""
