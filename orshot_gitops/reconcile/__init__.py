"""reconcile: compare what the repository wants with the state, and make it so.

`planner` builds a plan from a repository (files, git, state); `plan` is the pure decision
table and the Plan value; `send` executes a plan two-phase and write-ahead; `settle` finishes
what an interrupted run left; `runner` is one apply end to end (lock, push, record);
`manage` is status, adopt, resolve and refresh.

May import: `content`, `orshot`, `state`, `vcs`, `orshot_gitops.errors` and
`orshot_gitops.crashpoints`. Never `report`, `github`, `commands`.
"""
