#!/usr/bin/env python3
"""tests/bench/report.py - the table of `make bench` from run.sh's results.tsv.

    report.py RESULTS [--machine TEXT] [--reps N] [--secs S] [--bulk SIZE] [--smoke]
              [--svg FILE]

Prints one Markdown table (median, min-max, the ratio of each pair) and the targets
marked met or missed. With --svg, also a chart of the main ratios (gnuplot, when it is
installed, or $GNUPLOT; else a note on stderr and no chart). The rows of the original socketbox and of haproxy appear when they
ran (SOCKETBOX_PEER_DIR, haproxy installed). In --smoke mode the verdicts are printed but only a missing
case fails (exit 1): every comparison must have run and served connections.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

CONN_GROUPS = {
    # group: (baseline, [(system, [other baselines for more ratios])])
    "handoff": ("ceiling", [("socketbox", ["original-socketbox"]), ("original-socketbox", [])]),
    "workers": ("workers-1", [("workers-2", [])]),
    "register": ("datagram", [("registered", [])]),
    "inetd": ("xinetd", [("socketbox-inetd", [])]),
    "preload": ("nginx-direct", [("nginx-preload", [])]),
    "relay": ("direct", [("socat", []), ("haproxy", []), ("original-relay", []),
                         ("socketbox-relay", ["socat", "haproxy", "original-relay"]),
                         ("socketbox-relay-listen", ["haproxy"])]),
}
# bulk: the systems in order, and the other baselines of each
BULK_SYSTEMS = [("direct", []), ("socat", []), ("haproxy", []), ("original-relay", []),
                ("socketbox-relay", ["original-relay", "haproxy"]),
                ("socketbox-relay-listen", [])]
# rows that appear only when their program is there
OPTIONAL = {"original-socketbox", "haproxy", "original-relay"}
LABELS = {
    ("handoff", "ceiling"): "plain epoll accept loop, write a line, close (the ceiling)",
    ("handoff", "socketbox"): "socketbox → minimal fd applet (writes a line, closes)",
    ("workers", "workers-1"): "socketbox, workers = 1 → minimal fd applet, nothing pinned",
    ("workers", "workers-2"): "socketbox, workers = 2 → the same applet, nothing pinned (2 cores: "
                              "the workers share them with the applet and the load generator)",
    ("register", "datagram"): "socketbox (config file) → minimal fd applet on a datagram socket",
    ("register", "registered"): "socketbox (config file) → the same applet registered for a slot",
    ("handoff", "original-socketbox"): "the original socketbox → the same applet",
    ("burst", "socketbox"): "socketbox → applet taking 250 µs per connection",
    ("inetd", "xinetd"): "xinetd → /bin/echo ok (rate limits off)",
    ("inetd", "socketbox-inetd"): "socketbox → socketbox-inetd /bin/echo ok",
    ("preload", "nginx-direct"): "nginx, 1 worker, listening directly",
    ("preload", "nginx-preload"): "socketbox → nginx, 1 worker, libsocketbox-preload",
    ("relay", "direct"): "direct to the backend",
    ("relay", "socat"): "socat TCP6-LISTEN,fork → backend",
    ("relay", "haproxy"): "haproxy (mode tcp, 1 process, 1 thread) → backend",
    ("relay", "socketbox-relay"): "socketbox → socketbox-relay → backend",
    ("relay", "socketbox-relay-listen"): "socketbox-relay --listen → backend (no socketbox)",
    ("relay", "original-relay"): "the original socketbox → its socketbox-relay → backend",
}


def med(xs):
    return statistics.median(xs) if xs else 0.0


def fmt(x, digits=0):
    if x >= 100 or digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def rng(xs, digits=0):
    if len(xs) < 2:
        return ""
    return f" ({fmt(min(xs), digits)}–{fmt(max(xs), digits)})"


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 13:
                continue
            rows.append(p)
    return rows


# The chart: for each path against its baseline, the server CPU per connection as a ratio
# (one bar per concurrency), and the bulk MiB/s of each relay (one bar per number of flows).
CHART_LABELS = {
    ("handoff", "socketbox"): "socketbox",
    ("handoff", "original-socketbox"): "original socketbox",
    ("register", "registered"): "registered applet",
    ("inetd", "socketbox-inetd"): "socketbox-inetd",
    ("preload", "nginx-preload"): "nginx + preload",
    ("relay", "socat"): "socat",
    ("relay", "haproxy"): "haproxy",
    ("relay", "original-relay"): "original relay",
    ("relay", "socketbox-relay"): "socketbox-relay",
    ("relay", "socketbox-relay-listen"): "relay --listen",
}


def chart_data(conn, bulk, concs):
    """([(label, [CPU ratio or None per conc])], [(label, [MiB/s or None per flows])],
    flow counts)."""
    cpu_rows = []
    for group, (base, others) in CONN_GROUPS.items():
        # against the baseline, and against the other baselines of the targets (socat,
        # dozens of times dearer, only against the baseline)
        pairs = [(system, b) for system, seconds in others
                 for b in [base] + [o for o in seconds if o != "socat"]]
        for system, other in pairs:
            vals = []
            for c in concs:
                rs, bs = conn.get((group, system, c)), conn.get((group, other, c))
                vals.append(med([r["cpu"] for r in rs]) / max(med([r["cpu"] for r in bs]), 1e-9)
                            if rs and bs else None)
            if any(v is not None for v in vals):
                name = CHART_LABELS.get((group, other), other)
                label = f"{CHART_LABELS.get((group, system), system)}\\n(vs {name})"
                cpu_rows.append((label, vals))
    flows = sorted({f for (_, f) in bulk})
    bulk_rows = []
    for system, _ in BULK_SYSTEMS:
        vals = [med([r["mibps"] for r in bulk[(system, f)]]) if bulk.get((system, f)) else None
                for f in flows]
        if any(v is not None for v in vals):
            bulk_rows.append((CHART_LABELS.get(("relay", system), system), vals))
    return cpu_rows, bulk_rows, flows


def chart_write(path, conn, bulk, concs, title):
    """Writes the SVG chart with gnuplot; returns False (and says why) when it cannot."""
    gnuplot = shutil.which(os.environ.get("GNUPLOT", "gnuplot"))  # GNUPLOT=none: no chart
    if gnuplot is None:
        print("report.py: gnuplot is not installed: no chart", file=sys.stderr)
        return True
    cpu_rows, bulk_rows, flows = chart_data(conn, bulk, concs)
    if not cpu_rows and not bulk_rows:
        print("report.py: nothing to chart", file=sys.stderr)
        return True
    panels = (1 if cpu_rows else 0) + (1 if bulk_rows else 0)
    with tempfile.TemporaryDirectory() as tmp:
        def data(name, rows):
            """The values in a file; the labels as xtics (where \\n breaks a line)."""
            with open(os.path.join(tmp, name), "w") as f:
                for _, vals in rows:
                    f.write(" ".join("NaN" if v is None else f"{v:.3f}" for v in vals) + "\n")
            tics = ", ".join(f'"{label}" {i}' for i, (label, _) in enumerate(rows))
            g.append(f"set xtics ({tics})")
            return os.path.join(tmp, name)

        def columns(fname, heads):
            return ", ".join(f"'{fname}' using {i + 1} title '{h}'" for i, h in enumerate(heads))

        width = max(1100, 110 * max(len(cpu_rows), len(bulk_rows)) + 150)
        g = [f"set terminal svg size {width},{360 * panels + 40} dynamic font 'sans,11' "
             "background rgb 'white'",
             f"set output '{path}'",
             f"set multiplot layout {panels},1 title '{title}'",
             "set style data histograms",
             "set style histogram clustered gap 1",
             "set style fill solid 0.8 border -1",
             "set boxwidth 0.9",
             "set xtics nomirror font 'sans,10'",
             "set key top left",
             "set grid ytics",
             "set bmargin 6", "set lmargin 12", "set rmargin 4"]
        if cpu_rows:
            f = data("cpu.dat", cpu_rows)
            g += ["set title 'server CPU per connection, ratio to the baseline "
                  "(lower is better)'",
                  "set ylabel 'ratio (log scale)'", "set logscale y 2",
                  "set yrange [0.25:*]", "set format y '%g'",
                  "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5",
                  "plot " + columns(f, [f"{c} concurrent" for c in concs]),
                  "unset arrow 1", "unset logscale y", "set format y '%.0f'"]
        if bulk_rows:
            f = data("bulk.dat", bulk_rows)
            g += ["set title 'relay bulk throughput (higher is better)'",
                  "set ylabel 'MiB/s'", "set yrange [0:*]",
                  "plot " + columns(f, [f"{n} flow{'s' if n > 1 else ''}" for n in flows])]
        g.append("unset multiplot")
        script = os.path.join(tmp, "chart.gp")
        with open(script, "w") as out:
            out.write("\n".join(g) + "\n")
        rc = subprocess.run([gnuplot, script], capture_output=True, text=True)
    if rc.returncode != 0 or not os.path.exists(path):
        print(f"report.py: gnuplot failed: {rc.stderr.strip()}", file=sys.stderr)
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--machine", default="")
    ap.add_argument("--reps", default="")
    ap.add_argument("--secs", default="")
    ap.add_argument("--bulk", default="")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--svg", default="")
    ap.add_argument("--only", default="handoff workers register burst lookup memory inetd preload relay")
    a = ap.parse_args()
    rows = load(a.results)

    # conn[(group, system, conc)] = list of dicts
    conn = defaultdict(list)
    bulk = defaultdict(list)
    lookup = {}
    memory = defaultdict(list)
    for p in rows:
        kind, group, system, conc, rep = p[:5]
        v = p[5:]
        if kind == "conn":
            conn[(group, system, int(conc))].append(
                dict(cps=float(v[0]), ok=int(v[1]), fails=int(v[2]), cpu=float(v[3]),
                     core=float(v[4]), p50=int(v[5]), p99=int(v[6]), detail=v[7]))
        elif kind == "bulk":
            bulk[(system, int(conc))].append(dict(mibps=float(v[0]), cpu=float(v[3])))
        elif kind == "lookup":
            lookup[int(system)] = dict(ns=float(v[0]), ns_min=float(v[1]), ns_max=float(v[2]),
                                       load_ms=float(v[3]), hits=float(v[4]))
        elif kind == "memory":
            memory[int(system)].append(dict(rss=int(v[0]), hwm=int(v[1]), start_ms=int(v[3])))

    out = []
    w = out.append
    missing = []
    w("")
    w(f"### socketbox benchmarks{' (smoke run: figures are not meaningful)' if a.smoke else ''}")
    w("")
    if a.machine:
        w(f"Machine: {a.machine}. Loopback in a private network namespace; load generator "
          f"pinned to one core, every process of the path under test to the other. "
          f"{a.reps} repetition(s) of {a.secs} s per case, interleaved with the baseline; "
          f"median (min–max). Server CPU = utime+stime of the path's processes and their "
          f"children per connection; core = busy time of the server core per connection.")
        w("")
    w("| comparison | path | conc | conn/s (or MiB/s) | server CPU µs/conn | core µs/conn "
      "| p50 / p99 µs | failures | vs baseline (conn/s; CPU/conn) |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---|")

    ratios = {}  # (group, system, conc) -> (cps ratio, cpu ratio)
    concs = sorted({c for (g, _, c) in conn if g in CONN_GROUPS})
    for group, (base, others) in CONN_GROUPS.items():
        if not any(k[0] == group for k in conn):
            missing.append(group)
            continue
        for c in concs:
            for system, seconds in [(base, [])] + others:
                rs = conn.get((group, system, c), [])
                if not rs:
                    if system not in OPTIONAL or any(k[:2] == (group, system) for k in conn):
                        missing.append(f"{group}/{system}/c={c}")
                    continue
                cps = [r["cps"] for r in rs]
                cpu = [r["cpu"] for r in rs]
                core = [r["core"] for r in rs]
                fails = sum(r["fails"] for r in rs)
                ratio = "—"
                if system != base and conn.get((group, base, c)):
                    parts = []
                    for other in [base] + seconds:
                        o = conn.get((group, other, c))
                        if not o:
                            continue
                        rc = med(cps) / max(med([r["cps"] for r in o]), 1e-9)
                        rcpu = med(cpu) / max(med([r["cpu"] for r in o]), 1e-9)
                        key = system if other == base else system + "/" + other
                        ratios[(group, key, c)] = (rc, rcpu)
                        parts.append(f"{rc:.2f}× {other}; CPU {rcpu:.2f}×")
                    ratio = "<br>".join(parts)
                det = ""
                if fails:
                    kinds = defaultdict(int)
                    for r in rs:
                        for kv in r["detail"].split(","):
                            k, _, n = kv.partition("=")
                            if n and int(n):
                                kinds[k] += int(n)
                    det = " (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")"
                w(f"| {group} | {LABELS.get((group, system), system)} | {c} "
                  f"| {fmt(med(cps))}{rng(cps)} | {med(cpu):.1f}{rng(cpu, 1)} "
                  f"| {med(core):.1f} | {fmt(med([r['p50'] for r in rs]))} / "
                  f"{fmt(med([r['p99'] for r in rs]))} | {fails}{det} | {ratio} |")
        if group == "relay":
            for flows in sorted({f for (_, f) in bulk}) or [1]:
                for system, seconds in BULK_SYSTEMS:
                    rs = bulk.get((system, flows), [])
                    if not rs:
                        if system not in OPTIONAL:
                            missing.append(f"relay bulk/{system}/{flows}")
                        continue
                    m = [r["mibps"] for r in rs]
                    cpu = [r["cpu"] for r in rs]
                    parts = []
                    for other in ([] if system == "direct" else ["direct"]) + seconds:
                        o = bulk.get((other, flows))
                        if not o:
                            continue
                        rd = med(m) / max(med([r["mibps"] for r in o]), 1e-9)
                        key = system if other == "direct" else system + "/" + other
                        ratios[("bulk", key, flows)] = (rd, 0)
                        parts.append(f"{rd:.2f}× {other}")
                    ratio = "<br>".join(parts) or "—"
                    w(f"| relay bulk {a.bulk} × {flows} flow{'s' if flows > 1 else ''} "
                      f"| {LABELS.get(('relay', system), system)} | {flows} "
                      f"| {fmt(med(m))}{rng(m)} MiB/s | {med(cpu):.2f} s/GiB | | | 0 | {ratio} |")

    burst = [r for (g, s, c), rs in conn.items() if g == "burst" for r in rs]
    burst_n = [c for (g, s, c) in conn if g == "burst"]
    if burst:
        n = burst_n[0]
        served = [r["ok"] for r in burst]
        w(f"| burst | {LABELS[('burst', 'socketbox')]} | {n} | served "
          f"{', '.join(str(s) for s in served)} of {n} | {med([r['cpu'] for r in burst]):.1f} "
          f"| {med([r['core'] for r in burst]):.1f} | {fmt(med([r['p50'] for r in burst]))} / "
          f"{fmt(med([r['p99'] for r in burst]))} | {sum(r['fails'] for r in burst)} | — |")
    else:
        missing.append("burst")

    for (g, system, c), rs in sorted(conn.items()):
        if g != "relay-probe":
            continue
        fails = sum(r["fails"] for r in rs)
        kinds = defaultdict(int)
        for r in rs:
            for kv in r["detail"].split(","):
                k, _, n = kv.partition("=")
                if n and int(n):
                    kinds[k] += int(n)
        det = " (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")" if kinds else ""
        w(f"| relay probe: server speaks first, client keeps its side open | "
          f"{LABELS.get(('relay', system), system)} | {c} | served {sum(r['ok'] for r in rs)} "
          f"of {c * len(rs)} | | | | {fails}{det} | correctness only |")

    if lookup:
        base = lookup.get(10)
        for n in sorted(lookup):
            l = lookup[n]
            ratio = f"{l['ns'] / base['ns']:.2f}× 10 rules" if base and n != 10 else "—"
            w(f"| lookup | {n:,} rules, {l['hits']:.0f}% hits | — | {l['ns']:.1f} ns/lookup "
              f"({l['ns_min']:.1f}–{l['ns_max']:.1f}) | | | | | {ratio}; load {l['load_ms']:.1f} ms |")
    else:
        missing.append("lookup")
    if memory:
        for n in sorted(memory):
            ms = memory[n]
            rss = [m["rss"] / 1024 for m in ms]
            w(f"| memory | socketbox with {n:,} rules, idle | — | VmRSS {med(rss):.1f} MiB"
              f"{rng(rss, 1)} | | | | | peak {med([m['hwm'] / 1024 for m in ms]):.1f} MiB; "
              f"listening after {med([m['start_ms'] for m in ms]):.0f} ms |")
    else:
        missing.append("memory")

    # ------------------------------------------------------------ targets
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")

    def verdict(ok):
        return "met" if ok else "**missed**"

    top = max(concs) if concs else 64
    r = ratios.get(("handoff", "socketbox", top))
    if r:
        fails = sum(x["fails"] for x in conn[("handoff", "socketbox", top)])
        w(f"| hand-off ≥ 80% of the ceiling at {top} concurrent, no failures "
          f"| conn/s {r[0]:.2f}×; CPU/conn {r[1]:.2f}× the ceiling (efficiency {1 / r[1]:.2f}); "
          f"{fails} failures | conn/s: {verdict(r[0] >= 0.8 and fails == 0)}; "
          f"CPU: {verdict(1 / r[1] >= 0.8)} |")
    for c in concs:
        r = ratios.get(("handoff", "socketbox/original-socketbox", c))
        if r:
            fails = sum(x["fails"] for x in conn[("handoff", "socketbox", c)])
            w(f"| hand-off CPU/conn ≤ 0.85× the original socketbox's ({c} concurrent), "
              f"all served | CPU/conn {r[1]:.2f}×; {fails} failures "
              f"| {verdict(r[1] <= 0.85 and fails == 0)} |")
    if burst:
        n = burst_n[0]
        allserved = all(x["ok"] == n for x in burst)
        w(f"| burst: all {n} served | {', '.join(str(x['ok']) for x in burst)} | "
          f"{verdict(allserved)} |")
    if lookup and 10 in lookup and 100000 in lookup:
        l10, l100k = lookup[10]["ns"], lookup[100000]["ns"]
        w(f"| lookup ≤ 150 ns at 100,000 rules and ≤ 1.5× the 10-rule figure "
          f"| {l100k:.1f} ns; {l100k / l10:.2f}× ({l10:.1f} ns at 10) "
          f"| {verdict(l100k <= 150 and l100k <= 1.5 * l10)} |")
    if 100000 in memory:
        m = med([x["rss"] for x in memory[100000]]) / 1024
        w(f"| RSS ≤ 16 MiB with 100,000 rules | {m:.1f} MiB | {verdict(m <= 16)} |")
    if 10 in memory:
        m = med([x["rss"] for x in memory[10]]) / 1024
        w(f"| RSS ≤ 4 MiB idle with 10 rules | {m:.1f} MiB | {verdict(m <= 4)} |")

    def both(r, want):
        """conn/s ratio r[0] and CPU efficiency 1/r[1] against the same threshold."""
        eff = 1 / r[1] if r[1] else 0
        return (f"conn/s {r[0]:.3f}×; CPU/conn {r[1]:.3f}× (efficiency {eff:.3f})",
                f"conn/s: {verdict(r[0] >= want)}; CPU: {verdict(eff >= want)}")

    for c in concs:
        r = ratios.get(("register", "registered", c))
        if r:
            w(f"| registered applet within 10% of the datagram path in server CPU per "
              f"connection ({c} concurrent; issue 11) | CPU/conn {r[1]:.3f}×; conn/s {r[0]:.3f}× "
              f"| {verdict(r[1] <= 1.1)} |")
    for c in concs:
        r = ratios.get(("inetd", "socketbox-inetd", c))
        if r:
            m, v = both(r, 1.2)
            w(f"| inetd ≥ 1.2× xinetd ({c} concurrent) | {m} | {v} |")
    for c in concs:
        r = ratios.get(("preload", "nginx-preload", c))
        if r:
            m, v = both(r, 0.85)
            w(f"| preload ≥ 85% of nginx listening directly ({c} concurrent) | {m} | {v} |")
    for flows in sorted({f for (_, f) in bulk}):
        r = ratios.get(("bulk", "socketbox-relay", flows))
        r2 = ratios.get(("bulk", "socketbox-relay/original-relay", flows))
        if r:
            orig = f", {r2[0]:.2f}× the original's relay" if r2 else ""
            ok = r[0] >= 0.75 and (r2 is None or r2[0] >= 1.2)
            w(f"| relay bulk, {flows} flow{'s' if flows > 1 else ''}: ≥ 0.75× direct and "
              f"≥ 1.2× the original's relay | {r[0]:.2f}× direct{orig} | {verdict(ok)} |")
    for c in [c for c in concs if c >= 16]:
        for system in ("socketbox-relay", "socketbox-relay-listen"):
            r = ratios.get(("relay", system + "/haproxy", c))
            if r:
                w(f"| {LABELS[('relay', system)].rsplit(' →', 1)[0]}: CPU/conn ≤ haproxy's "
                  f"({c} concurrent) | {r[1]:.2f}× | {verdict(r[1] <= 1)} |")
    for c in concs:
        r = ratios.get(("relay", "socketbox-relay/socat", c))
        if r:
            m, v = both(r, 2)
            fails = sum(x["fails"] for x in conn[("relay", "socketbox-relay", c)])
            w(f"| relay conn/s ≥ 2× socat ({c} concurrent) | {m}; {fails} failures | {v} |")
    only = a.only.split()
    missing = [m for m in missing if m.split("/")[0].split()[0] in only]
    if missing:
        w("")
        w("Cases that did not run: " + ", ".join(missing))
    print("\n".join(out))
    chart_ok = True
    if a.svg:
        title = "socketbox benchmarks" + (" (smoke run)" if a.smoke else "")
        chart_ok = chart_write(a.svg, conn, bulk, concs, title)
    return 1 if missing or not chart_ok else 0


if __name__ == "__main__":
    sys.exit(main())
