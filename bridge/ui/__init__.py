"""The live canvas (pygame): the instrument's window, its widgets, HUD and event loop.

`bridge.commands.play` and the `replay --show` window import this package; pygame is imported inside
the modules that draw.
"""
