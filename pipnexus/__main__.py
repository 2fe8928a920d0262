from pipnexus.cli import main

raise SystemExit(main())
