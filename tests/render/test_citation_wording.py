"""The text plan and the markdown plan cite a change in the same words
(render/common.change_citation and field_origin); the markdown one only dresses them: each
place and commit a link, each reference a code span."""

from __future__ import annotations

import pytest

from reconcile.plan import Action, Change, FieldDiff
from reconcile.plan.model import FieldSource, LastDeclared, Source
from reconcile.render.common import change_citation, field_citation
from reconcile.render.markdown import citation_lines

ORIGINS = [
    (FieldSource(12, 5, "var_file", "rpm", "envs/prod/vars.yaml", 3),
     "${var:rpm} from var file envs/prod/vars.yaml:3", "`${var:rpm}` from var file `envs/prod/vars.yaml:3`"),
    (FieldSource(12, 5, "var", "rpm"), "${var:rpm} from --var", "`${var:rpm}` from --var"),
    (FieldSource(12, 5, "env", "RPM"), "${env:RPM} from the environment", "`${env:RPM}` from the environment"),
]


def _update(origin: FieldSource) -> Change:
    return Change("projects.web", "project", ("web",), Action.UPDATE, {"rate_limit_rpm": 60},
                  {"rate_limit_rpm": 600}, diffs=(FieldDiff("rate_limit_rpm", 60, 600),),
                  source=Source("base/infrai.yaml", 10, 1, 14, "overlay", {"rate_limit_rpm": origin}))


@pytest.mark.parametrize(("origin", "text", "markdown"), ORIGINS)
def test_a_value_from_a_variable_is_cited_alike_in_text_and_markdown(origin, text, markdown):
    change = _update(origin)
    assert change_citation(change) == "base/infrai.yaml:10 (overlay)"
    assert field_citation(change, change.diffs[0]) == f"line 12, {text}"
    assert citation_lines(change, None) == ["- `projects.web` (update): `base/infrai.yaml:10` (overlay)",
                                            f"  - `rate_limit_rpm` at `line 12`: {markdown}"]


def test_a_delete_cites_its_last_declaration_alike():
    gone = Change("projects.old", "project", ("old",), Action.DELETE, {}, None,
                  last_declared=LastDeclared("base/infrai.yaml", "a" * 40, subject="Drop *old*", removed_in="b" * 40))
    assert change_citation(gone) == f'last declared in base/infrai.yaml at {"a" * 12} "Drop *old*", removed in {"b" * 12}'
    assert citation_lines(gone, None) == [
        f"- `projects.old` (delete): last declared in `base/infrai.yaml` at `{'a' * 12}` (Drop \\*old\\*), "
        f"removed in `{'b' * 12}`"]
