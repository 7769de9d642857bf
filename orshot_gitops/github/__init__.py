"""github: the GitHub side of CI: the Action's context, outputs, step summary and the
one sticky pull-request comment.

May import: `report`, `orshot_gitops.errors` and itself. Never `reconcile` or `commands`.
"""
