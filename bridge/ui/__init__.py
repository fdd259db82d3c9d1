"""The live canvas (pygame): the instrument's window, its widgets, HUD and event loop.

Only `bridge.commands.play` imports this package; pygame is imported inside the modules that draw.
"""
