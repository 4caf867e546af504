"""CI integrations: GitHub Actions (workflow commands, outputs, step summary, the PR comment
and its REST calls, the composite action's runner), GitLab (plan report, Code Quality
report) and the pre-commit hook.

Pure functions over plans and config `Reason`s (github.py, gitlab.py), plus the edges: the
action's entry point, which runs the CLI as a subprocess exactly as a user would
(action.py), the GitHub REST client (github_api.py, httpx) and the hook (precommit.py).
Imports: nothing (its modules: errors, plan, render, workflow).
"""
