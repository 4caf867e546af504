"""Command line interface."""


def main() -> None:
    """The `reconcile` executable ([project.scripts] in pyproject.toml).

    The command tree is imported with the cyclic GC paused, and what it leaves frozen out
    of later collections: modules, classes and the kind registry live as long as the
    process, so a collection during the imports would walk them and free nothing
    (~6 ms of a `validate`'s start; reconcile/collector.py, docs/benchmarks.md).
    """
    import gc

    gc.disable()  # first: the collections startup would trigger begin before any import
    from .. import collector

    try:
        collector.mark_short_lived()
        from .main import main as run
    finally:
        collector.resume()
    run()
