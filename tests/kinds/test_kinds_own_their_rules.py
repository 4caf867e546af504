"""Kinds own their rules: the modules that run them name no kind.

The config loader's checks, impact analysis, policy checks, the executor and the facts
reader read each kind's rules from the registry (`KindSpec.checks`, `Field.validate`,
`impact`, `policy`, `rotate_calls`, `tier_field`, `tier_limit`), so adding a kind touches
`reconcile/kinds/` only. A string literal equal to a kind's name or config key in one of
them means a rule crept back out of its kind.
"""

import ast
from pathlib import Path

import pytest

from reconcile.kinds import KINDS
from reconcile.plan.policy import RULES, Policy

PACKAGE = Path(__file__).parents[2] / "reconcile"
RULE_RUNNERS = ["config/loader.py", "plan/impact.py", "plan/policy.py", "apply/executor.py", "live/facts.py"]
KIND_WORDS = {k.name for k in KINDS} | {k.config_key for k in KINDS}


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


@pytest.mark.parametrize("module", RULE_RUNNERS)
def test_no_kind_is_named_by_a_rule_runner(module):
    named = [(line, s) for line, s in _string_literals(PACKAGE / module) if s in KIND_WORDS]
    assert not named, f"{module} names kinds {named}: declare the rule on the kind (kinds/base.py) instead"


def test_the_check_sees_a_kind_name(tmp_path):
    # The detector itself: `c.kind == "budget"` is caught, a docstring naming it is not.
    sample = tmp_path / "runner.py"
    sample.write_text('def f(c):\n    """budget"""\n    return c.kind == "budget"\n')
    assert [s for _, s in _string_literals(sample) if s in KIND_WORDS] == ["budget"]


def test_every_kind_policy_rule_is_a_policy_field():
    fields = set(Policy.__dataclass_fields__)
    for kind in KINDS:
        for rule in kind.policy:
            assert rule in RULES and rule in fields, f"{kind.name}: policy rule {rule!r} is not a Policy rule"


def test_only_kinds_with_a_secret_to_rotate_declare_rotate_calls():
    for kind in KINDS:
        assert (kind.rotate_calls is not None) == (kind.api.rotate is not None), kind.name
