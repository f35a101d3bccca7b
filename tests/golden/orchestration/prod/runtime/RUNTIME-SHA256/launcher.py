"""Runs the bundled runtime: `python3 launcher.py <job> ...` == `python -m runtime <job> ...`."""
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime.zip"))
sys.argv[0] = "runtime"
runpy.run_module("runtime", run_name="__main__", alter_sys=True)
