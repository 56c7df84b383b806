"""Prints the benchmark table and writes it as JSON and CSV."""
import csv
import json
import sys

lines = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
out = sys.argv[2]
rows = []
pgbench = next((l["tps"] for l in lines if l["scenario"] == "pgbench"), None)
for l in lines:
    s = l["scenario"]
    if "result" in l:
        r = l["result"]
        name = f'{s} {r["loop"]} {r["offered"]}' + (" rps" if r["loop"] == "rate" else " in flight")
        if r.get("tool"):
            name += f' ({r["tool"]})'
        rows.append({"scenario": name, "throughput_rps": r["achieved_rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                     "p999_ms": r["p999_ms"], "errors": r["errors"], "notes": ""})
        if s.startswith("accept") and r["loop"] == "max" and pgbench:
            rows.append({"scenario": f"{s}: max / pgbench", "throughput_rps": round(r["achieved_rps"] / pgbench, 3),
                         "p50_ms": "", "p99_ms": "", "p999_ms": "", "errors": "", "notes": f"pgbench {pgbench:.0f} tps"})
    elif s == "pgbench":
        rows.append({"scenario": "pgbench one-row insert (16 clients)", "throughput_rps": l["tps"], "p50_ms": "", "p99_ms": "",
                     "p999_ms": "", "errors": "", "notes": "physical limit"})
    elif s == "startup":
        rows.append({"scenario": "start-up", "throughput_rps": "", "p50_ms": "", "p99_ms": "", "p999_ms": "", "errors": "",
                     "notes": f'ready in {l["time_to_ready_ms"]} ms, idle RSS {l["idle_rss_mb"]} MB'})
    elif s.startswith("track"):
        rows.append({"scenario": f'{s} ({l["jobs"]} jobs, 60 s model time)', "throughput_rps": l["submit"]["achieved_rps"],
                     "p50_ms": l["visible_after_webhook_p50_ms"] if s == "track-webhook" else l["visible_after_fal_p50_ms"],
                     "p99_ms": l["visible_after_webhook_p99_ms"] if s == "track-webhook" else l["visible_after_fal_p99_ms"],
                     "p999_ms": "", "errors": l["left_behind"],
                     "notes": f'{l["fal_calls_per_job"]} fal calls/job; completed {l["completed"]}/{l["jobs"]}; '
                              f'after fal p50/p99 {l["visible_after_fal_p50_ms"]}/{l["visible_after_fal_p99_ms"]} ms; '
                              f'CPU {l["gateway_cpu_pct"]}%; RSS {l.get("gateway_rss_at_start_mb")} MB at start, peak {l["gateway_peak_rss_mb"]} MB'})
json.dump(rows, open(f"{out}/results.json", "w"), indent=1)
with open(f"{out}/results.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    writer.writeheader()
    writer.writerows(rows)
header = f'| {"scenario":<58} | {"rps":>9} | {"p50 ms":>8} | {"p99 ms":>8} | {"p99.9 ms":>8} | {"errors":>6} | notes'
print(header)
print("|" + "-" * (len(header) - 1))
for r in rows:
    print(f'| {r["scenario"]:<58} | {r["throughput_rps"]!s:>9} | {r["p50_ms"]!s:>8} | {r["p99_ms"]!s:>8} | {r["p999_ms"]!s:>8} | {r["errors"]!s:>6} | {r["notes"]}')
