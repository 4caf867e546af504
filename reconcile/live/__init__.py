"""Reading live state: list endpoints only, kinds fetched concurrently, normalised to the
shape the config uses.

Imports: nothing (its modules: errors, collector, kinds, resources, client by protocol).
"""

from .reader import read_live

__all__ = [
    "read_live",
]
