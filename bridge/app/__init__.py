"""The app layer: the live session, the replayer, the config and the wiring of adapters to the engine."""
