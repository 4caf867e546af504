"""A saved plan's deletes, checked against live state again before apply (`stale_steps`):
found by id among every live object, duplicates included, with one index for all of them."""

from reconcile.plan import PlanOptions, build_plan
from reconcile.plan.staleness import stale_steps

from plan_builders import desired, live, project


def _alert(id_: str, threshold: int, enabled: bool = True) -> tuple[str, dict]:
    return ("bandwidth_alert", {"id": id_, "threshold_bytes": threshold, "enabled": enabled})


def test_each_delete_is_done_stale_or_still_to_do_by_the_live_object_with_its_id():
    before = live(*(project(f"p{i}", f"old{i}") for i in range(50)), _alert("a1", 100), _alert("a2", 100))
    plan = build_plan(desired(), before, PlanOptions(prune=frozenset({"project", "bandwidth_alert"})))
    assert len(plan.changes) == 52  # 50 projects, both alerts (one a duplicate of the other)
    now = live(*(project(f"p{i}", f"old{i}") for i in range(50) if i != 7),  # p7 is gone already
               project("p9", "old9-renamed"),  # same id, changed since the plan (and now a duplicate id)
               _alert("a1", 100), _alert("a2", 100, enabled=False))  # the duplicate changed
    now.resources.pop("projects.old9")
    done, stale = stale_steps(plan, now)
    assert done == ["projects.old7"]
    assert sorted(s.split(":")[0] for s in stale) == ["bandwidth_alerts[100]#a2", "projects.old9"]
    assert stale_steps(plan, before) == ([], [])
