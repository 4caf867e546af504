"""The layout is the architecture: the import rules of docs/architecture.md, checked.

Each package (a "layer") may import only the layers its row below names; a dotted entry
allows one module of a layer and nothing else of it. `plan/` is pure: it imports no module
that reaches files, the environment, the clock, the GC or signals. Each module's docstring
line `Imports: ...` names exactly the layers it imports (text in parentheses is commentary),
so the line cannot go stale.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "reconcile"

# What each layer may import from inside `reconcile` (besides itself and `reconcile.__version__`).
ALLOWED = {
    "errors": set(),
    "redact": set(),
    "collector": set(),
    "kinds": {"errors"},
    "resources": {"errors", "kinds", "redact"},
    # config.policy_file builds the Policy the plan's policy checks read: that module only.
    "config": {"errors", "collector", "kinds", "resources", "redact", "plan.policy"},
    "client": {"errors", "redact"},
    "live": {"errors", "collector", "kinds", "resources", "client", "redact"},
    "plan": {"errors", "kinds", "resources", "redact"},
    "apply": {"errors", "kinds", "resources", "client", "plan", "redact"},
    "render": {"errors", "kinds", "resources", "plan", "apply", "redact"},
    "workflow": {"errors", "collector", "kinds", "resources", "config", "client", "live", "plan", "apply", "render", "redact"},
    # The public façade (docs/python-api.md): names re-exported from below, nothing of its own.
    "api": {"errors", "resources", "plan", "apply", "workflow"},
    "emulator": set(),
}
# Standard-library modules a layer may not import (I/O, environment, clock, GC, signals).
FORBIDDEN_STDLIB = {
    "plan": {"os", "pathlib", "signal", "time", "gc", "subprocess", "threading", "io", "shutil", "tempfile",
             "socket", "logging"},
    "render": {"click", "signal", "subprocess"},
    # Signals are the CLI's (cli/signals.py): the executor takes a cancel event instead.
    "apply": {"click", "signal"},
    "workflow": {"click", "signal"},
}
LAYERS = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
          if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}


def _module_parts(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(internal modules imported, as dotted paths below `reconcile`; top-level stdlib/third-party names)."""
    tree = ast.parse(path.read_text(), str(path))
    parts = _module_parts(path)
    package = parts if path.name == "__init__.py" else parts[:-1]
    internal: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [] if node.module else [a.name for a in node.names]
            elif node.module and node.module.split(".")[0] == "reconcile":
                target = node.module.split(".")[1:]
                names = [] if target else [a.name for a in node.names]
            else:
                external.add((node.module or "").split(".")[0])
                continue
            for dotted in ([".".join([*target, n]) for n in names] if names else [".".join(target)]):
                if dotted and dotted != "__version__":
                    internal.add(dotted)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reconcile."):
                    internal.add(alias.name.split(".", 1)[1])
                else:
                    external.add(alias.name.split(".")[0])
    return internal, external


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _allowed(dotted: str, rules: set[str]) -> bool:
    return any(dotted == r or dotted.startswith(r + ".") for r in rules)


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    layer = layer_of(path)
    internal, external = imports_of(path)
    foreign = {d for d in internal if d.split(".")[0] != layer}
    if layer in ALLOWED:
        bad = sorted(d for d in foreign if not _allowed(d, ALLOWED[layer]))
        assert not bad, f"{layer} may not import {bad} (see docs/architecture.md)"
    if layer not in ("cli", "emulator"):
        assert not any(d.split(".")[0] == "emulator" for d in foreign), \
            "only the CLI's --local wiring may import the emulator"
    banned = external & FORBIDDEN_STDLIB.get(layer, set())
    assert not banned, f"{layer} must stay pure and may not import {sorted(banned)}"


def test_every_layer_has_a_row():
    missing = LAYERS - set(ALLOWED) - {"cli", "__main__"}
    assert not missing, f"add an ALLOWED row (and a docs/architecture.md line) for {sorted(missing)}"


def _declared(doc: str) -> set[str] | None:
    m = re.search(r"\bImports:(.*?)(?:\n\s*\n|\Z)", doc, re.S)
    if m is None:
        return None
    text = re.sub(r"\([^)]*\)", "", m.group(1))  # parentheses are commentary ("a client by protocol")
    if re.search(r"^\s*nothing\b", text):
        return set()
    if re.search(r"\beverything\b|\banything\b", text):
        return None  # the CLI and the workflow: the ALLOWED row is the rule
    return {w for w in re.findall(r"[a-z_]+(?:\.[a-z_]+)*", text) if w.split(".")[0] in LAYERS}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_docstring_line_is_true(path):
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    declared = _declared(doc)
    if declared is None:
        return
    layer = layer_of(path)
    internal, _ = imports_of(path)
    actual = {d.split(".")[0] for d in internal if d.split(".")[0] != layer}
    named = {d.split(".")[0] for d in declared if d.split(".")[0] != layer}
    assert actual <= named, f"the 'Imports:' line does not name {sorted(actual - named)}"
    assert named <= actual, f"the 'Imports:' line names {sorted(named - actual)}, which this module does not import"


# Below the CLI nothing talks to the terminal or ends the process: no click, no print(), no
# sys.exit / SystemExit / os._exit. Library callers (docs/python-api.md) get return values,
# events and exceptions; the CLI decides what is printed and the exit code.
# Exempt, by name: the emulator is a program of its own (`reconcile emulator`, `python -m
# reconcile.emulator`), and a module's `python -m` entry point (`main` run under
# `if __name__ == "__main__":`) is a script, not library code.
TERMINAL_EXEMPT_LAYERS = {"emulator"}
TERMINAL_EXEMPT_FUNCTIONS = {"config/schema.py": {"main"}}


def terminal_uses(path: Path) -> list[str]:
    """`line: what` for every click import, print() call and process exit in `path`."""
    tree = ast.parse(path.read_text(), str(path))
    exempt = TERMINAL_EXEMPT_FUNCTIONS.get(str(path.relative_to(PACKAGE)) if path.is_relative_to(PACKAGE) else "", set())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        in_main_guard = (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                         and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")
        if in_main_guard or (isinstance(node, ast.FunctionDef) and node.name in exempt):
            skipped.update(id(n) for n in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        what = None
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "click" for a in node.names):
            what = "imports click"
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "click":
            what = "imports click"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            what = "calls print()"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in (
                    ("sys", "exit"), ("os", "_exit")):
            what = f"calls {node.func.value.id}.{node.func.attr}"
        elif isinstance(node, ast.Raise) and node.exc is not None and "SystemExit" in ast.dump(node.exc):
            what = "raises SystemExit"
        if what:
            found.append((node.lineno, what))
    return [f"{line}: {what}" for line, what in sorted(found)]


BELOW_CLI = [p for p in MODULES if layer_of(p) not in {"cli", "__main__"} | TERMINAL_EXEMPT_LAYERS]


@pytest.mark.parametrize("path", BELOW_CLI, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_below_the_cli_prints_or_exits(path):
    uses = terminal_uses(path)
    assert not uses, f"{path.relative_to(PACKAGE)} talks to the terminal or exits (only reconcile/cli may): {uses}"


def test_the_terminal_check_finds_what_it_forbids(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import sys\nimport click\nfrom click import echo\n"
                      "def f():\n    print('x')\n    sys.exit(1)\n    raise SystemExit(2)\n"
                      "if __name__ == '__main__':\n    print('a script may')\n")
    assert terminal_uses(sample) == ["2: imports click", "3: imports click", "5: calls print()",
                                     "6: calls sys.exit", "7: raises SystemExit"]


def _doc_table() -> dict[str, set[str]]:
    """The import table of docs/architecture.md: layer → what its row says it may import."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    rows: dict[str, set[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        allowed = re.sub(r"\([^)]*\)|—.*", "", cells[1])  # commentary and the stdlib clause
        names = set() if allowed.strip() == "nothing" else \
            {w.strip("`") for w in re.findall(r"`?[a-z_]+(?:\.[a-z_]+)?`?", allowed)} & \
            ({*ALLOWED, *(r for rules in ALLOWED.values() for r in rules)} | {"everything"})
        for layer in re.findall(r"`([a-z_]+)`", cells[0]):
            rows[layer] = names
    return rows


def test_the_architecture_doc_states_the_rules_this_test_enforces():
    table = _doc_table()
    for layer, rules in ALLOWED.items():
        if layer in ("workflow", "emulator"):
            continue  # "everything above" / "nothing of reconcile": prose, checked by the rows above
        assert table.get(layer) == rules, f"docs/architecture.md's row for {layer} says {table.get(layer)}, the rule is {rules}"
