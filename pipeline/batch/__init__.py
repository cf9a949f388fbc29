"""`s2q batch`, `s2q summary` and `s2q bank mine`: an archive of recorded interviews.

A batch runs every file through the same session code as `s2q replay --fast`
(`engine_for(config, "fast", ...)` and `run_session`), with the models loaded once per worker, on a local
process pool or on Ray; the driver alone writes the output folder.
"""
