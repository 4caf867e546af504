"""CI integrations: GitHub Actions (workflow commands, outputs, step summary, PR comment
bodies, the composite action's runner) and GitLab (plan report, Code Quality report).

Pure functions over plans and config `Reason`s, plus the action's entry point, which runs
the CLI as a subprocess exactly as a user would. Imports: errors, plan, render.
"""
