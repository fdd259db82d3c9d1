"""Entry point: `python run_bridge.py --help` lists the subcommands."""

import bridge.cli

if __name__ == "__main__":  # worker processes (data generation, bank indexing) re-import this module
    raise SystemExit(bridge.cli.main())
