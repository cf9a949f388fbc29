"""Replay and listen wiring: sources, engine, steps and sinks for one session."""
