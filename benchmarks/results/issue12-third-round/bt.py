import sys, runpy
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__))); import patch  # noqa
sys.argv = ["s2q", "bank", "test", "--role", "backend-engineer"]
try:
    runpy.run_module("pipeline", run_name="__main__")
except SystemExit:
    pass
