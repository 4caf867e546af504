"""Run-wide defaults shared by the library (engine) and the CLI, in one place so the two can
never disagree again (`apply PLANFILE` and `adopt` used to read with 8 while the CLI said 10).

Imports: nothing.
"""

#: Concurrent API calls: list pages while reading, steps while applying (`--parallelism`).
DEFAULT_PARALLELISM = 10
