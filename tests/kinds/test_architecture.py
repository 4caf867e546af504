"""The layout is the architecture: check the import rules the module docstrings state."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "reconcile"

# What each layer may import from inside `reconcile` (besides itself and `reconcile.__version__`).
ALLOWED = {
    "errors": set(),
    "redact": set(),
    "kinds": {"errors"},
    "state": {"errors", "kinds", "redact"},
    "config": {"errors", "kinds", "state", "redact"},
    "client": {"errors", "redact"},
    "live": {"errors", "kinds", "state", "client", "redact"},
    "plan": {"errors", "kinds", "state", "redact"},
    "render": {"errors", "kinds", "state", "plan", "apply", "redact"},
    "doctor": {"kinds", "client", "config", "redact"},
    "emulator": set(),
}


def internal_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    rel = path.relative_to(PACKAGE).with_suffix("")
    package_parts = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)] if node.level > 1 else package_parts
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:  # `from .. import __version__` and the like
                    target = [alias.name for alias in node.names]
            elif node.module and node.module.startswith("reconcile"):
                target = node.module.split(".")[1:] or [alias.name for alias in node.names]
            else:
                continue
            found.add(target[0] if target else "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reconcile."):
                    found.add(alias.name.split(".")[1])
    return found - {"__version__", ""}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    layer = layer_of(path)
    imports = internal_imports(path) - {layer}
    if layer in ALLOWED:
        assert imports <= ALLOWED[layer], f"{layer} may not import {sorted(imports - ALLOWED[layer])}"
    if layer != "cli" and layer != "emulator":
        assert "emulator" not in imports, "only the CLI's --local wiring may import the emulator"
