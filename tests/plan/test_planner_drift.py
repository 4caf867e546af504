"""Drift means drift: an undeclared live object inside what the config manages is drift,
unless the config says such objects are not its own (`unmanaged: ignore`)."""

from reconcile.render.drift import drift_report
from reconcile.plan import Action, PlanOptions, build_plan
from reconcile.plan.ownership import prune_filter
from reconcile.render import render_plan_text

from plan_builders import desired, key, live, project, want

HOOK = {"url": "https://h.example.com/a", "events": ["key.rotated"]}


def hook(id_: str, url: str, created: str = "2026-01-01T00:00:00Z") -> tuple[str, dict]:
    return ("webhook", {"id": id_, "url": url, "events": ["key.rotated"], "created_at": created})


def alert(id_: str, threshold: int, created: str) -> tuple[str, dict]:
    return ("bandwidth_alert", {"id": id_, "threshold_bytes": threshold, "enabled": True, "created_at": created})


def test_a_hand_made_key_in_a_declared_project_is_drift():
    l = live(project("p1", "web"), key("k1", "p1", "ci"), key("k2", "p1", "by-hand"),
             project("p2", "other"), key("k3", "p2", "x"))
    plan = build_plan(desired(want("project", name="web"), want("api_key", project="web", name="ci"),
                              want("webhook", **HOOK)), l)
    assert plan.changes[0].action is Action.CREATE  # the webhook
    drifted = {u.address: u.reason for u in plan.drift}
    # projects.other is drift too: the config declares projects; its key is not (its project is not declared).
    assert drifted == {"projects.web.keys.by-hand": "not declared in projects.web",
                       "projects.other": "not declared among the config's projects"}
    assert plan.has_drift
    assert plan.summary().endswith("; drift: 2 undeclared objects.")
    text = render_plan_text(plan)
    assert "Drift (live, not declared, inside what the config manages): 1 project, 1 API key." in text
    assert "    projects.web.keys.by-hand  (not declared in projects.web)" in text
    assert "Unmanaged (live, not declared, left alone): 1 API key." in text  # projects.other.keys.x
    report = drift_report(plan)
    assert report["drifted"] is True
    assert {u["address"] for u in report["undeclared"]} == set(drifted)


def test_a_kind_the_config_does_not_declare_is_not_drift():
    l = live(project("p1", "web"), hook("w1", "https://h.example.com/extra"))
    plan = build_plan(desired(want("project", name="web")), l)
    assert not plan.has_drift
    assert [(u.address, u.drift) for u in plan.unmanaged] == [('webhooks["https://h.example.com/extra"]', False)]
    # Declaring any webhook makes the extra one drift.
    assert build_plan(desired(want("webhook", **HOOK)), l).drift[0].address == 'webhooks["https://h.example.com/extra"]'


def test_unmanaged_ignore_globally_and_per_kind():
    l = live(project("p1", "web"), key("k2", "p1", "by-hand"), hook("w1", "https://h.example.com/extra"))
    d = desired(want("project", name="web"), want("webhook", **HOOK))
    assert {u.kind for u in build_plan(d, l).drift} == {"api_key", "webhook"}
    d.settings["unmanaged"] = "ignore"
    plan = build_plan(d, l)
    assert plan.drift == () and len(plan.unmanaged) == 2
    d.settings["unmanaged"] = {"keys": "ignore"}
    assert {u.kind for u in build_plan(d, l).drift} == {"webhook"}


def test_pruned_drift_is_a_delete_not_a_listing():
    l = live(project("p1", "web"), key("k2", "p1", "by-hand"))
    plan = build_plan(desired(want("project", name="web")), l, PlanOptions(prune=frozenset({"api_key"})))
    assert [(c.address, c.action) for c in plan.changes] == [("projects.web.keys.by-hand", Action.DELETE)]
    assert plan.unmanaged == ()


def test_duplicates_of_a_declared_object_are_drift_and_prune_keeps_the_oldest():
    l = live(alert("a2", 1024, "2026-01-02T00:00:00Z"), alert("a1", 1024, "2026-01-01T00:00:00Z"),
             alert("a3", 1024, "2026-01-03T00:00:00Z"))
    d = desired(want("bandwidth_alert", threshold_bytes=1024))
    d.settings["unmanaged"] = "ignore"  # not about undeclared objects: a duplicate is always drift
    plan = build_plan(d, l)
    assert plan.changes == ()
    assert [(u.address, u.reason, u.drift) for u in plan.unmanaged] == [
        ("bandwidth_alerts[1024]#a2", "a duplicate of a declared object", True),
        ("bandwidth_alerts[1024]#a3", "a duplicate of a declared object", True)]
    pruned = build_plan(d, l, PlanOptions(prune=frozenset({"bandwidth_alert"})))
    assert sorted(c.live_id for c in pruned.changes if c.action is Action.DELETE) == ["a2", "a3"]  # a1 is kept


def test_under_a_stack_only_its_own_objects_are_drift():
    mine = project("p1", "web", metadata={"infrai-reconcile/stack": "app"})
    theirs = project("p2", "db", metadata={"infrai-reconcile/stack": "data"})
    by_hand = project("p3", "scratch")
    left = project("p4", "left-behind", metadata={"infrai-reconcile/stack": "app"})
    l = live(mine, theirs, by_hand, left, key("k1", "p1", "by-hand"))
    d = desired(want("project", name="web"))
    d.stack = "app"
    plan = build_plan(d, l, PlanOptions(ownership=prune_filter("app", l)))
    assert {u.address for u in plan.drift} == {"projects.left-behind", "projects.web.keys.by-hand"}
