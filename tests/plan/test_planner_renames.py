"""Renames: `renamed_from` plans one in-place update; without it, a likely rename is hinted
and, under prune, the old object's delete waits for its successor's create."""

from reconcile.plan import Action, PlanOptions, build_plan
from reconcile.plan.moves import apply_moves

from plan_builders import desired, key, live, project, want


def test_renamed_key_is_one_update_of_its_name_keeping_the_id():
    d = desired(want("project", name="web"),
                want("api_key", {"renamed_from": "ci"}, project="web", name="deploy", scopes=["account:read"]))
    l = live(project("p1", "web"), key("k1", "p1", "ci", scopes=["account:read"]))
    plan = build_plan(d, l, PlanOptions(prune=frozenset({"api_key"})))
    (change,) = plan.changes
    assert (change.address, change.action, change.live_id) == ("projects.web.keys.deploy", Action.UPDATE, "k1")
    assert [(x.path, x.before, x.after) for x in change.diffs] == [("name", "ci", "deploy")]
    assert change.reasons == ("renamed from projects.web.keys.ci",)
    assert change.moved_from == "projects.web.keys.ci"
    assert plan.unmanaged == ()


def test_renamed_project_takes_its_keys_along():
    d = desired(want("project", {"renamed_from": "web"}, name="site"), want("api_key", project="site", name="ci"))
    l = live(project("p1", "web"), key("k1", "p1", "ci"))
    plan = build_plan(d, l, PlanOptions(prune=frozenset({"project", "api_key"})))
    assert [(c.address, c.action, c.live_id) for c in plan.changes] == [("projects.site", Action.UPDATE, "p1")]
    moved = apply_moves(d, l)
    assert set(moved.resources) == {"projects.site", "projects.site.keys.ci"}
    assert moved.resources["projects.site.keys.ci"].item.moved_from == "projects.web.keys.ci"


def test_a_renamed_key_under_a_renamed_project():
    d = desired(want("project", {"renamed_from": "web"}, name="site"),
                want("api_key", {"renamed_from": "ci"}, project="site", name="deploy"))
    l = live(project("p1", "web"), key("k1", "p1", "ci"))
    plan = build_plan(d, l)
    assert [(c.address, c.live_id, c.moved_from) for c in plan.changes] == [
        ("projects.site", "p1", "projects.web"), ("projects.site.keys.deploy", "k1", "projects.web.keys.ci")]


def test_renamed_from_is_inert_once_applied_or_when_nothing_is_live():
    d = desired(want("project", {"renamed_from": "web"}, name="site"))
    assert build_plan(d, live(project("p1", "site"))).changes == ()
    (create,) = build_plan(d, live()).changes
    assert create.action is Action.CREATE


def test_a_likely_rename_is_hinted_and_the_old_key_outlives_its_successor():
    d = desired(want("project", name="web"), want("api_key", project="web", name="deploy", scopes=["account:read"]))
    l = live(project("p1", "web"), key("k1", "p1", "ci", scopes=["account:read"]))
    plan = build_plan(d, l, PlanOptions(prune=frozenset({"api_key"})))
    assert ("projects.web.keys.deploy looks like a rename of projects.web.keys.ci (same project and fields): "
            "to rename it in place, keeping its id and secret, add `renamed_from: ci` to "
            "projects.web.keys.deploy in the config") in plan.warnings
    by = plan.by_address()
    assert by["projects.web.keys.ci"].action is Action.DELETE
    assert by["projects.web.keys.ci"].depends_on == ("projects.web.keys.deploy",)
    # Not pruned: the same hint, and the old key is listed as unmanaged.
    plain = build_plan(d, l)
    assert any("looks like a rename" in w for w in plain.warnings)


def test_no_hint_when_the_scopes_differ_or_it_is_ambiguous():
    d = desired(want("project", name="web"), want("api_key", project="web", name="deploy", scopes=["keys:write"]))
    l = live(project("p1", "web"), key("k1", "p1", "ci", scopes=["account:read"]))
    assert not any("rename" in w for w in build_plan(d, l).warnings)
    d2 = desired(want("project", name="web"), want("api_key", project="web", name="a"),
                 want("api_key", project="web", name="b"))
    assert not any("rename" in w for w in build_plan(d2, l).warnings)


def test_the_callers_own_project_is_never_taken_for_a_renamed_one():
    d = desired(want("project", name="web"))
    l = live(project("p0", "default"))
    l.caller_project_id = "p0"
    assert build_plan(d, l).warnings == ()
    # A bare new project next to a bare old one is no evidence of a rename either.
    assert build_plan(d, live(project("p1", "old"))).warnings == ()
    # The same key names under it are.
    d2 = desired(want("project", name="web"), want("api_key", project="web", name="ci"))
    l2 = live(project("p1", "old"), key("k1", "p1", "ci"))
    assert any("projects.web looks like a rename of projects.old" in w for w in build_plan(d2, l2).warnings)


def test_the_hint_reaches_the_pull_request_comment():
    from reconcile.render import render_plan_markdown

    d = desired(want("project", name="web"), want("api_key", project="web", name="deploy"))
    l = live(project("p1", "web"), key("k1", "p1", "ci"))
    markdown = render_plan_markdown(build_plan(d, l))
    assert "> **Warning:** projects.web.keys.deploy looks like a rename of projects.web.keys.ci" in markdown


def test_renamed_from_with_both_names_live_renames_nothing_and_says_so():
    d = desired(want("project", name="web"), want("api_key", {"renamed_from": "ci"}, project="web", name="deploy"))
    l = live(project("p1", "web"), key("k1", "p1", "ci"), key("k2", "p1", "deploy"))
    plan = build_plan(d, l)
    assert plan.changes == ()
    assert any("renamed_from 'ci' does nothing: projects.web.keys.deploy exists already" in w for w in plan.warnings)
    assert [u.address for u in plan.drift] == ["projects.web.keys.ci"]
