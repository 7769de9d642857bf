"""state: the record of what was sent, `.orshot/state.json`.

Owns the model (frozen dataclasses), reading and writing the file (atomic, checked against
its schema, serial and lineage guarded), and the entry-by-entry three-way merge.

May import: `orshot_gitops.errors`, `content.fastschema` and `content.cache` (schema checks
and the validity memo), and itself. Never `orshot`, `vcs`, `reconcile`, `report`, `github`,
`commands`.
"""
