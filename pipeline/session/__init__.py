"""Replay and listen wiring: sources, engine, stages and sinks for one session."""
