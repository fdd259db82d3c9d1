"""Pure core: numpy and the standard library only; no I/O, threads or clock reads."""
