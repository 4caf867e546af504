"""The policy file's JSON Schema (docs/policy.md#editors), generated from
`reconcile.config.policy_file.policy_schema`: schemas/policy.schema.json and the copy the
package ships (reconcile/data/policy.schema.json).

`python -m tools.policy_schema` rewrites both; `--check` exits 1 when either differs from a
fresh generation (tests/config/test_policy_file.py); `--path` prints the packaged copy's path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from reconcile.config.policy_file import PACKAGED_SCHEMA_PATH, schema_text

from tools import write_files

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schemas" / "policy.schema.json"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--path" in args:
        print(PACKAGED_SCHEMA_PATH)
        return 0
    text = schema_text()
    stale = [p for p in (SCHEMA_PATH, PACKAGED_SCHEMA_PATH) if not p.exists() or p.read_text(encoding="utf-8") != text]
    if "--check" in args:
        print("".join(f"{p} is out of date: run python -m tools.policy_schema\n" for p in stale), end="")
        return 1 if stale else 0
    write_files((path, text) for path in stale)  # the others hold this text already
    return 0


if __name__ == "__main__":
    sys.exit(main())
