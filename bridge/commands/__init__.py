"""One module per CLI subcommand; each defines `register(subparsers)`.

A command module imports heavy libraries inside its `run` function, never at import time, so
`--help` and the canvas start fast.
"""
