"""content: a content repository's posts, from files to checked, compiled requests.

Owns: YAML loading with positions (`yamlload`), `orshot.yaml` and post models (`model`),
discovery (`load`), JSON Schemas (`schemas`, `fastschema`), sandboxed Jinja (`templating`, with
its on-disk `cache`), compilation to per-account payloads (`compile`), platform limits
(`platforms`) and `validate`. Pure: no network, no state, no git.

May import: `orshot_gitops.errors` and itself. Never `orshot`, `state`, `vcs`, `reconcile`,
`report`, `github`, `commands`.
"""
