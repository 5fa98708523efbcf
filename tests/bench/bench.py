#!/usr/bin/env python3
"""`make bench` driver: tests/bench/run.sh [SCENARIO...] -> this.

Runs the named scenarios (none = every implemented one, in scenarios.ORDER), then writes
build/bench/report.md and report.json and prints the report. Exit status: 0 when every
measurement was valid, 1 when a run was invalid or a proxy failed, 2 on usage errors.
Settings come from the environment; see README.md.
"""

import atexit
import os
import shutil
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import Context, proc, report  # noqa: E402
import scenarios  # noqa: E402


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main(argv):
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    ctx = Context(root)
    available = scenarios.implemented()
    names = [a for arg in argv for a in arg.replace(",", " ").split()] or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"bench: unknown or not yet implemented scenario(s): {', '.join(unknown)}; "
              f"implemented: {', '.join(available)}", file=sys.stderr)
        return 2
    for tool in ("nginx", "haproxy", "wrk", "taskset"):
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
            print(f"bench: {tool} not found (run.sh installs it)", file=sys.stderr)
            return 2
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    ncpu = len(os.sched_getaffinity(0))
    if max(ctx.load_cpu, ctx.proxy_cpu) >= (os.cpu_count() or 1):
        print(f"bench: needs CPUs {ctx.load_cpu} and {ctx.proxy_cpu}; this machine has "
              f"{os.cpu_count()} (set BENCH_LOAD_CPU/BENCH_PROXY_CPU)", file=sys.stderr)
        return 2

    shutil.rmtree(ctx.work, ignore_errors=True)
    os.makedirs(ctx.work)
    proc.set_pidfile(os.path.join(ctx.work, "pids"))
    atexit.register(proc.cleanup)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    machine = report.machine_info()
    settings = ctx.settings()
    messages = []
    print(f"bench: scenarios {', '.join(names)}; {ctx.runs} round(s) of "
          f"{ctx.warmup:g} s warm-up + {ctx.seconds} s per proxy and case; "
          f"{machine['nproc']} CPUs ({ncpu} usable), load average "
          f"{machine['loadavg_at_start']}", flush=True)

    results = []
    valid = True
    for name in names:
        mod = scenarios.load(name)
        try:
            r = mod.run(ctx)
        except Exception as e:  # report what we have for the other scenarios
            import traceback
            traceback.print_exc()
            r = {"name": name, "title": getattr(mod, "TITLE", ""), "valid": False,
                 "error": f"{type(e).__name__}: {e}",
                 "markdown": f"## {name} — {getattr(mod, 'TITLE', '')}\n\nFAILED: {type(e).__name__}: {e}"}
        results.append(r)
        valid = valid and r["valid"]
        proc.cleanup()  # whatever a scenario left behind

    md = report.write(ctx.out, machine, settings, results, messages, valid)
    print()
    print(md)
    print(f"bench: wrote {os.path.relpath(os.path.join(ctx.out, 'report.md'), root)} and "
          f"report.json" + ("" if valid else " — SOME RUNS WERE INVALID"))
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
