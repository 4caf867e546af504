"""Extract the seed's 56 curl examples into `curl_examples.json` beside this script.

Reads `../shared/infrai-account-api.json` beside the repository; the committed JSON is what
`test_curl_examples.py` runs, so tests never need `../shared`. Each entry keeps the raw
example and its parsed method, path and JSON body (None when the example sends none).
Run: `python tests/emulator/data/extract_curl_examples.py`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SOURCE = REPO.parent / "shared" / "infrai-account-api.json"
TARGET = HERE / "curl_examples.json"


def parse_example(example: str) -> dict[str, Any]:
    """Method, path (with the seed's `{id}`/`ID` placeholder kept) and body of one curl line."""
    words = shlex.split(example)
    method, url, body = "GET", "", None
    index = 1
    while index < len(words):
        word = words[index]
        if word == "-X":
            method, index = words[index + 1], index + 2
        elif word in ("-H", "--header"):
            index += 2
        elif word in ("-d", "--data", "--data-raw"):
            body, index = json.loads(words[index + 1]), index + 2
        elif re.match(r"^https?://", word):
            url, index = word, index + 1
        else:
            raise ValueError(f"unexpected curl word {word!r} in {example!r}")
    return {"method": method, "path": urlsplit(url).path, "body": body}


def extract(capabilities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": cap["name"], **parse_example(cap["example"]), "example": cap["example"]}
            for cap in sorted(capabilities, key=lambda c: c["name"])]


def main() -> None:
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    TARGET.write_text(json.dumps(extract(data["capabilities"]), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
