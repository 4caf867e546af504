from datetime import datetime, timezone

import pytest

from reconcile.errors import ProtectedDelete, TooMuchChange
from reconcile.plan import Action, PlanOptions, build_plan, check_protected, check_thresholds

from plan_builders import desired, key, live, project, want


def test_create_project_and_its_key_in_dependency_order():
    d = desired(want("project", name="web", scopes=["keys:write", "account:read"]),
                want("api_key", project="web", name="ci", scopes=["account:read"]))
    plan = build_plan(d, live())
    assert [(c.address, c.action) for c in plan.changes] == [
        ("projects.web", Action.CREATE), ("projects.web.keys.ci", Action.CREATE)]
    assert plan.changes[1].depends_on == ("projects.web",)
    assert plan.summary() == "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete."


def test_no_changes_when_live_matches_even_if_order_differs():
    d = desired(want("project", name="web", scopes=["keys:write", "account:read"]))
    l = live(project("p1", "web", scopes=["account:read", "keys:write"]))
    assert build_plan(d, l).changes == ()


def test_update_shows_field_level_diffs_for_nested_metadata():
    d = desired(want("project", name="web", metadata={"team": "web", "tier": "gold"}))
    l = live(project("p1", "web", metadata={"team": "api", "old": 1}))
    (change,) = build_plan(d, l).changes
    assert change.action is Action.UPDATE
    assert [(x.path, x.before, x.after) for x in change.diffs] == [
        ("metadata.old", 1, None), ("metadata.team", "api", "web"), ("metadata.tier", None, "gold")]


def test_omitted_fields_are_not_managed():
    d = desired(want("project", name="web"))
    l = live(project("p1", "web", scopes=["account:read"], rate_limit_rpm=50))
    assert build_plan(d, l).changes == ()


def test_undeclared_objects_are_unmanaged_unless_pruned():
    d = desired(want("project", name="web"))
    l = live(project("p1", "web"), project("p2", "old"))
    plan = build_plan(d, l)
    assert plan.changes == ()
    # The config declares projects, so an undeclared one is drift (docs/gitops.md#drift).
    assert [(u.address, u.reason, u.drift) for u in plan.unmanaged] == [
        ("projects.old", "not declared among the config's projects", True)]
    pruned = build_plan(d, l, PlanOptions(prune=frozenset({"project"})))
    assert [(c.address, c.action) for c in pruned.changes] == [("projects.old", Action.DELETE)]


def test_deleting_a_project_shows_its_keys_deleted_first():
    l = live(project("p1", "old"), key("k1", "p1", "ci"))
    plan = build_plan(desired(), l, PlanOptions(prune=frozenset({"project"})))
    assert [(c.address, c.action) for c in plan.changes] == [
        ("projects.old.keys.ci", Action.DELETE), ("projects.old", Action.DELETE)]
    assert plan.changes[1].depends_on == ("projects.old.keys.ci",)


def test_prune_never_deletes_the_callers_own_key():
    l = live(project("p1", "default"), key("k1", "p1", "bootstrap"), caller_key="k1")
    plan = build_plan(desired(want("project", name="default")), l, PlanOptions(prune=frozenset({"api_key"})))
    assert plan.changes == ()
    assert plan.unmanaged[0].reason == "the API key this tool is calling with"
    assert not plan.unmanaged[0].drift  # in a declared project, yet never drift: it is the caller's own


def test_member_role_change_is_a_replace_with_reason():
    d = desired(want("member", email="Ops@Example.com", role="admin"))
    l = live(("member", {"member_id": "m1", "email": "ops@example.com", "role": "viewer", "status": "invited"}))
    (change,) = build_plan(d, l).changes
    assert change.action is Action.REPLACE
    assert change.reasons == ("role cannot be changed in place",)
    assert change.actions == ["delete", "create"]


def test_alert_identity_is_the_threshold_in_bytes():
    d = desired(want("bandwidth_alert", threshold_bytes="1GiB"))
    l = live(("bandwidth_alert", {"id": "a1", "threshold_bytes": 1073741824, "enabled": True}))
    assert build_plan(d, l).changes == ()


def test_duplicate_live_alerts_are_deleted_only_when_pruned():
    d = desired(want("bandwidth_alert", threshold_bytes=100))
    l = live(("bandwidth_alert", {"id": "a1", "threshold_bytes": 100, "enabled": True}),
             ("bandwidth_alert", {"id": "a2", "threshold_bytes": 100, "enabled": True}))
    assert build_plan(d, l).changes == ()
    pruned = build_plan(d, l, PlanOptions(prune=frozenset({"bandwidth_alert"})))
    assert [(c.address, c.live_id) for c in pruned.changes] == [("bandwidth_alerts[100]#a2", "a2")]


def test_singleton_update_keeps_undeclared_live_values_for_the_put():
    d = desired(want("budget", hard_cap_usd=500))
    l = live(("budget", {"period": "daily", "hard_cap_usd": None, "alert_threshold_usd": 20}))
    (change,) = build_plan(d, l).changes
    assert change.action is Action.UPDATE
    assert change.after == {"period": "daily", "hard_cap_usd": 500, "alert_threshold_usd": 20}


def test_pending_tier_downgrade_counts_as_converged():
    d = desired(want("tier", tier="standard"))
    l = live(("tier", {"tier": "pro", "pending_tier": "standard", "limits": {}, "billing_period": "monthly"}))
    assert build_plan(d, l).changes == ()


def test_rotation_policy_rotates_only_old_keys():
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    d = desired(want("project", name="web"),
                want("api_key", {"rotate_after": "90d"}, project="web", name="old"),
                want("api_key", {"rotate_after": "90d"}, project="web", name="new"),
                want("api_key", {"rotate_after": "90d"}, project="web", name="rotated"))
    l = live(project("p1", "web"),
             key("k1", "p1", "old", created_at="2026-01-01T00:00:00Z"),
             key("k2", "p1", "new", created_at="2026-05-01T00:00:00Z"),
             key("k3", "p1", "rotated", created_at="2025-01-01T00:00:00Z", last_rotated_at="2026-04-01T00:00:00Z"))
    plan = build_plan(d, l, PlanOptions(now=now))
    assert [(c.address, c.action) for c in plan.changes] == [("projects.web.keys.old", Action.ROTATE)]
    assert plan.changes[0].reasons == ("created 151 days ago; policy rotate_after 90d",)


def test_targeting_keeps_dependencies_and_marks_the_plan_partial():
    d = desired(want("project", name="web"), want("api_key", project="web", name="ci"),
                want("project", name="api"))
    plan = build_plan(d, live(), PlanOptions(targets=("projects.web.keys.ci",)))
    assert plan.partial
    assert [c.address for c in plan.changes] == ["projects.web", "projects.web.keys.ci"]


def test_protect_refuses_a_replace():
    d = desired(want("member", {"protect": True}, email="a@b.co", role="admin"))
    l = live(("member", {"member_id": "m1", "email": "a@b.co", "role": "viewer", "status": "active"}))
    plan = build_plan(d, l)
    with pytest.raises(ProtectedDelete, match=r'members\["a@b.co"\] \(replace\)'):
        check_protected(plan, set())


def test_threshold_refuses_mass_deletes_with_counts():
    projects = [project(f"p{i}", f"p{i}") for i in range(12)]
    plan = build_plan(desired(), live(*projects), PlanOptions(prune=frozenset({"project"})))
    with pytest.raises(TooMuchChange, match=r"(?s)deletes every project it manages \(12 of 12\): "
                                            r"projects.p0, .* and 7 more.*--force"):
        check_thresholds(plan)


def test_threshold_holds_on_the_smallest_account():
    # One webhook, an empty config with prune: the whole kind would go.
    l = live(("webhook", {"id": "w1", "url": "https://h.example.com/a", "events": ["key.rotated"]}))
    plan = build_plan(desired(), l, PlanOptions(prune=frozenset({"webhook"})))
    with pytest.raises(TooMuchChange, match=r'deletes every webhook it manages \(1 of 1\): webhooks\["https'):
        check_thresholds(plan)


def test_threshold_counts_against_what_the_plan_may_delete():
    # The caller's own project is never deleted, so deleting the two others is all of them.
    l = live(project("p0", "default"), project("p1", "web"), project("p2", "api"), caller_key=None)
    l.caller_project_id = "p0"
    plan = build_plan(desired(), l, PlanOptions(prune=frozenset({"project"})))
    assert plan.managed_counts["project"] == 2
    with pytest.raises(TooMuchChange, match=r"\(2 of 2\)"):
        check_thresholds(plan)


def test_threshold_refuses_a_large_share_and_allows_an_edit():
    projects = [project(f"p{i}", f"p{i}") for i in range(8)]
    keep = lambda n: desired(*(want("project", name=f"p{i}") for i in range(n)))  # noqa: E731
    prune = PlanOptions(prune=frozenset({"project"}))
    with pytest.raises(TooMuchChange, match=r"deletes 3 of 8 projects \(38%, more than 25%\)"):
        check_thresholds(build_plan(keep(5), live(*projects), prune))
    check_thresholds(build_plan(keep(6), live(*projects), prune))  # 2 of 8: an edit
    check_thresholds(build_plan(keep(7), live(*projects[:2]), prune))  # 1 of 2, the other declared


def test_threshold_counts_keys_deleted_with_their_project():
    l = live(project("p1", "web"), project("p2", "old"), key("k1", "p2", "a"), key("k2", "p2", "b"),
             key("k3", "p2", "c"), key("k4", "p1", "d"))
    d = desired(want("project", name="web"), want("api_key", project="web", name="d"))
    plan = build_plan(d, l, PlanOptions(prune=frozenset({"project"})))  # keys are not pruned themselves
    with pytest.raises(TooMuchChange, match=r"deletes 3 of 4 API keys \(75%.*projects.old.keys.a"):
        check_thresholds(plan)


def test_plan_data_masks_sensitive_values_and_names_env_refs():
    from reconcile.resources import DesiredResource

    r = DesiredResource("webhook", ("https://h.example.com/x",),
                        {"url": "https://h.example.com/x", "events": ["key.rotated"], "secret": "s3cr3t-value"},
                        secret_refs={"secret": "HOOK_SECRET"})
    plan = build_plan(desired(r), live())
    text = str(plan.to_data())
    assert "s3cr3t-value" not in text
    assert "${env:HOOK_SECRET}" in text


def test_fingerprint_is_stable_for_the_same_inputs():
    d = desired(want("project", name="web"))
    assert build_plan(d, live()).fingerprint == build_plan(d, live()).fingerprint
    assert build_plan(d, live()).fingerprint != build_plan(desired(want("project", name="api")), live()).fingerprint


def test_a_scheduled_downgrade_that_cannot_be_cancelled_warns_instead_of_failing():
    d = desired(want("tier", tier="team"))
    l = live(("tier", {"tier": "team", "pending_tier": "pro", "pending_effective_at": "2026-12-01T00:00:00Z",
                       "limits": {}, "billing_period": "monthly"}))
    plan = build_plan(d, l)
    assert plan.changes == ()
    assert plan.warnings == ("tier: the account is on team with a downgrade to pro scheduled for 2026-12-01T00:00:00Z; "
                             "the API cannot cancel a scheduled downgrade (only an upgrade above pro replaces it), "
                             "so the tier will change then",)


def test_tier_changes_are_irreversible():
    (change,) = build_plan(desired(want("tier", tier="pro")),
                           live(("tier", {"tier": "standard", "pending_tier": None, "limits": {}})) ).changes
    assert change.irreversible


def test_live_fingerprint_is_computed_only_when_read(monkeypatch):
    from reconcile.resources import LiveState

    calls = []
    real = LiveState.fingerprint
    monkeypatch.setattr(LiveState, "fingerprint", lambda self: calls.append(1) or real(self))
    d = desired(want("project", name="api"))
    plan = build_plan(d, live())
    assert calls == []  # a plain plan never needs it (~30 ms at 10,000 resources)
    expected = real(live())
    assert plan.live_fingerprint == expected and plan.to_data()["live_fingerprint"] == expected
    assert plan.live_fingerprint == expected and calls == [1]  # computed once


def test_webhook_urls_differing_only_in_host_case_or_default_port_are_one_webhook():
    d = desired(want("webhook", url="https://Hooks.Example.com:443/a", events=["key.rotated"]))
    l = live(("webhook", {"id": "wh_1", "url": "https://hooks.example.com/a", "events": ["key.rotated"]}))
    plan = build_plan(d, l)
    assert plan.changes == () and plan.unmanaged == ()


def test_make_plan_computes_the_seed_only_when_an_apply_reads_it(monkeypatch):
    from reconcile.workflow import engine
    from reconcile.resources import LiveState

    calls = []
    real = LiveState.fingerprint
    monkeypatch.setattr(LiveState, "fingerprint", lambda self: calls.append(1) or real(self))
    monkeypatch.setattr(engine, "read_live", lambda client, parallelism=8: live())
    monkeypatch.setattr(engine, "with_impacts", lambda client, plan, live, parallelism=8: plan)
    planned = engine.make_plan(None, desired(want("project", name="api")))
    assert calls == []
    seed = planned.idempotency_seed
    assert seed.startswith(planned.plan.fingerprint + ":") and calls == [1]
    assert planned.idempotency_seed == seed  # computed once: the random part stays
    again = engine.make_plan(None, desired(want("project", name="api")))
    assert again.idempotency_seed != seed  # a fresh random part per run


def test_a_dropped_projects_keys_are_deleted_with_it_not_also_left_alone():
    from reconcile.render import render_plan_markdown, render_plan_text

    l = live(project("p1", "web"), project("p2", "old"), key("k1", "p2", "a"), key("k2", "p2", "b"),
             key("k3", "p1", "c"))
    plan = build_plan(desired(want("project", name="web")), l, PlanOptions(prune=frozenset({"project"})))
    assert [u.address for u in plan.unmanaged] == ["projects.web.keys.c"]  # not projects.old's keys
    assert plan.counts()["delete"] == 3
    text = render_plan_text(plan)
    assert "  - projects.old  delete (not declared and pruning is on)\n" \
           "      deletes 2 API keys with it: projects.old.keys.a, projects.old.keys.b\n" in text
    assert "- projects.old.keys.a" not in text  # once, under the project
    # The other project's undeclared key is left alone, and drift (its project is declared).
    assert "Drift (live, not declared, inside what the config manages): 1 API key." in text
    markdown = render_plan_markdown(plan)
    assert "-     deletes 2 API keys with it: projects.old.keys.a, projects.old.keys.b" in markdown
    assert "- - projects.old.keys.a" not in markdown
