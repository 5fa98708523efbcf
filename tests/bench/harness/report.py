"""build/bench/report.md and report.json: machine facts, settings, one section per scenario."""

import json
import os
import platform
import subprocess
import time


def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    try:
        nproc = subprocess.run(["nproc"], stdout=subprocess.PIPE).stdout.decode().strip()
    except OSError:
        nproc = str(os.cpu_count())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "nproc": nproc,
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg_at_start": load,
        "clk_tck": os.sysconf("SC_CLK_TCK"),
    }


def render(machine, settings, scenarios, messages):
    out = ["# Gatehouse benchmark report", ""]
    out.append(f"- date: {machine['date']}")
    out.append(f"- machine: {machine['nproc']} CPUs (nproc), {machine['cpu_model']}, "
               f"kernel {machine['kernel']}, load average at start {machine['loadavg_at_start']}")
    out.append(f"- method: wrk -t{settings['wrk_threads']} -c{settings['connections']} "
               f"-d{settings['seconds']}s --latency after a {settings['warmup_seconds']:g} s "
               f"warm-up; {settings['runs']} interleaved round(s), medians of valid runs; "
               f"upstream and wrk on CPU {settings['load_cpu']}, proxy on CPU "
               f"{settings['proxy_cpu']}, one worker each")
    if settings["runs"] < 3:
        out.append(f"- **fewer than 3 runs: a smoke test, not a result under spec/bench.md**")
    for m in messages:
        out.append(f"- {m}")
    out.append("")
    out.append("CPU µs/req = proxy utime+stime (all its processes, /proc/PID/stat) over the "
               "measured window ÷ requests completed. Ratios compare medians of the same "
               "invocation. *foreign load* = share of the proxy CPU used by other programs "
               "during the window (noise on this shared machine).")
    for sc in scenarios:
        out.append("")
        out.append(sc["markdown"])
    return "\n".join(out) + "\n"


def write(out_dir, machine, settings, scenarios, messages, valid):
    os.makedirs(out_dir, exist_ok=True)
    md = render(machine, settings, scenarios, messages)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(md)
    doc = {
        "machine": machine, "settings": settings, "messages": messages, "valid": valid,
        "scenarios": {sc["name"]: {k: v for k, v in sc.items() if k != "markdown"}
                      for sc in scenarios},
    }
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return md
