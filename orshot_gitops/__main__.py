from orshot_gitops.cli import main

raise SystemExit(main())
