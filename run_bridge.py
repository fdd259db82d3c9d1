"""Entry point: `python run_bridge.py --help` lists the subcommands."""

import bridge.cli

raise SystemExit(bridge.cli.main())
