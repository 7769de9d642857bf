"""vcs: git. `gitrepo` asks git every question the reconciler has (running `git` itself); `changes` reads
what changed between two commits (pure values); `hooks` installs and runs the git hooks (a
bare server's post-receive, a clone's pre-push).

May import: `orshot_gitops.errors` and itself. What a hook runs (apply) is passed in by the
command, so git never imports the reconciler.
"""
