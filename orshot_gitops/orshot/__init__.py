"""orshot: the Orshot API client (httpx): requests, answers, typed errors and pacing.

Owns every byte that crosses the network to Orshot, and the API key (only ever in the
`Authorization` header). Knows nothing of posts files, the state or git.

May import: `orshot_gitops.errors`, `orshot_gitops.__version__` and itself. Never `content`,
`state`, `vcs`, `reconcile`, `report`, `github`, `commands`; and the sandbox shares no code
with it (it is the independent oracle in tests).
"""
