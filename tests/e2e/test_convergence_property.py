"""Property: for any desired state and any drift made behind the tool's back, one apply
makes live equal desired, and the next plan is empty."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.apply import SecretRouter
from reconcile.client import InfraiClient
from reconcile.client.asgi import SyncASGITransport
from reconcile.config import load_config
from reconcile.emulator.app import create_app
from reconcile.workflow.engine import PRUNABLE, apply_plan, make_plan
from reconcile.kinds.vocab import MEMBER_ROLES, SCOPES, WEBHOOK_EVENTS

subsets = lambda xs: st.lists(st.sampled_from(xs), unique=True, max_size=len(xs))  # noqa: E731


@st.composite
def projects(draw):
    out = []
    for name in draw(st.lists(st.sampled_from(["web", "api", "data", "ops"]), unique=True, max_size=3)):
        scopes = draw(subsets(SCOPES))
        project = {"name": name, "scopes": scopes}
        if draw(st.booleans()):
            project["metadata"] = draw(st.dictionaries(st.sampled_from(["team", "env", "cost"]),
                                                       st.text("abcxyz", min_size=1, max_size=5), max_size=3))
        if draw(st.booleans()):
            project["rate_limit_rpm"] = draw(st.integers(1000, 100000))
        keys = draw(st.lists(st.sampled_from(["ci", "deploy", "svc"]), unique=True, max_size=2))
        if keys:
            project["keys"] = [{"name": k, "scopes": draw(subsets(scopes or SCOPES))} for k in keys]
        out.append(project)
    return out


@st.composite
def configs(draw):
    config = {"projects": draw(projects())}
    hooks = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=2))
    config["webhooks"] = [{"url": f"https://hooks.example.com/{h}",
                           "events": draw(st.lists(st.sampled_from(WEBHOOK_EVENTS), unique=True, min_size=1, max_size=3)),
                           "active": draw(st.booleans()), "description": draw(st.text("abc ", max_size=10))}
                          for h in hooks]
    config["members"] = [{"email": f"{m}@example.com", "role": draw(st.sampled_from(MEMBER_ROLES))}
                         for m in draw(st.lists(st.sampled_from(["ann", "bob"]), unique=True, max_size=2))]
    config["bandwidth_alerts"] = [{"threshold": t} for t in
                                  draw(st.lists(st.sampled_from(["1GiB", "10GiB", "500MB"]), unique=True, max_size=2))]
    if draw(st.booleans()):
        cap = draw(st.integers(10, 1000))
        config["budget"] = {"period": draw(st.sampled_from(["daily", "monthly"])), "hard_cap_usd": cap,
                            "alert_threshold_usd": draw(st.integers(0, cap))}
    return config


DRIFT = st.lists(st.sampled_from(["extra_project", "revoke_key", "retag_project", "extra_webhook", "mute_hook",
                                  "extra_member", "budget", "extra_alert"]), unique=True, max_size=4)


def drift(api: InfraiClient, op: str) -> None:
    projects = api.list_all("/v1/account/projects/list")
    if op == "extra_project":
        api.request("POST", "/v1/account/projects/create", json={"name": "intruder"})
    elif op == "revoke_key":
        keys = [k for k in api.list_all("/v1/account/keys/list") if k["name"] != "bootstrap"]
        if keys:
            api.request("DELETE", f"/v1/account/keys/revoke/{keys[0]['key_id']}")
    elif op == "retag_project" and len(projects) > 1:
        api.request("PATCH", f"/v1/account/projects/update/{projects[-1]['id']}",
                    json={"metadata": {"team": "someone-else"}, "scopes": ["account:read"]})
    elif op == "extra_webhook":
        api.request("POST", "/v1/account/webhooks/register",
                    json={"url": "https://evil.example.com/x", "events": ["key.created"]})
    elif op == "mute_hook":
        hooks = api.list_all("/v1/account/webhooks/list")
        if hooks:
            api.request("PATCH", f"/v1/account/webhooks/update/{hooks[0]['id']}", json={"active": False, "events": ["tier.changed"]})
    elif op == "extra_member":
        api.request("POST", "/v1/account/members/invite", json={"email": "eve@example.com", "role": "viewer"})
    elif op == "budget":
        api.request("PUT", "/v1/account/budget/set", json={"period": "daily", "hard_cap_usd": 1})
    elif op == "extra_alert":
        api.request("POST", "/v1/account/bandwidth/alerts/configure", json={"threshold_bytes": 123})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs(), first=DRIFT, second=DRIFT)
def test_apply_converges_from_any_drift(config, first, second, tmp_path_factory):
    d = tmp_path_factory.mktemp("prop")
    path = Path(d) / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    desired = load_config([path])
    desired.prune = set(PRUNABLE)
    app = create_app(":memory:")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://e") as http, \
            InfraiClient("http://e", app.state.emulator.bootstrap_secret, http=http) as api:
        secrets = SecretRouter([], Path(d) / "secrets.json")
        for ops in (first, second):
            for op in ops:
                drift(api, op)
            planned = make_plan(api, desired)
            report = apply_plan(api, planned.plan, planned.live, secrets=secrets)
            assert report.ok, [(r.change.address, r.error) for r in report.results if r.error]
            again = make_plan(api, desired)
            assert again.plan.changes == (), [c.address for c in again.plan.changes]
        # And live really equals desired, read through the API rather than the planner.
        names = {p["name"] for p in api.list_all("/v1/account/projects/list")}
        assert names == {p["name"] for p in config["projects"]} | {"default"}
        hooks = {h["url"]: h for h in api.list_all("/v1/account/webhooks/list")}
        assert set(hooks) == {w["url"] for w in config["webhooks"]}
        for w in config["webhooks"]:
            assert hooks[w["url"]]["events"] == sorted(set(w["events"]))
            assert hooks[w["url"]]["active"] == w["active"]
