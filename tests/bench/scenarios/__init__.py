"""Benchmark scenarios, one module each (see spec/bench.md for the list and the goals).

A scenario module defines:

    NAME   = "h1"                      # what `make bench SCENARIO=...` selects
    TITLE  = "plain HTTP/1.1 ..."      # one line for the report
    def run(ctx) -> dict               # ctx: harness.Context

and `run` returns a dict with at least
    name, title     as above
    valid           False if any measurement was invalid or a proxy failed to start
    markdown        its section of report.md (a "## name — title" heading and tables)
plus whatever data it wants in report.json. `run` must stop every server it started, also
when it fails (harness.lineup.Lineup is a context manager for that).

ORDER is the order of `make bench` with no SCENARIO; a name is run only when its module
exists, so scenarios can be added one file at a time.
"""

import importlib
import os

ORDER = ["h1", "tls", "handshake", "mtls", "lua", "authz", "routes", "reload", "idle", "obs"]


def implemented():
    here = os.path.dirname(__file__)
    return [n for n in ORDER if os.path.isfile(os.path.join(here, f"{n}.py"))]


def load(name):
    return importlib.import_module(f"scenarios.{name}")
