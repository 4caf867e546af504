"""The package says what it is: an SPDX licence with its text shipped, and project URLs that
point where the README and the GitHub Action (`uses: infrai/infrai-reconcile@...`) do."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_license_and_urls():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    for name in project["license-files"]:
        text = (REPO / name).read_text()
        assert "Apache License" in text and "Version 2.0, January 2004" in text
    urls = project["urls"]
    assert {"Homepage", "Repository", "Documentation", "Issues"} <= set(urls)
    repository = urls["Repository"]
    assert repository == "https://github.com/infrai/infrai-reconcile"
    assert all(url.startswith(repository) for url in urls.values())
    readme = (REPO / "README.md").read_text()
    assert repository in readme and "[LICENSE](LICENSE)" in readme
    workflows = "".join(p.read_text() for p in (REPO / "examples" / "ci").glob("*.yml"))
    assert "uses: " + repository.removeprefix("https://github.com/") + "@" in workflows
