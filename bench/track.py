"""Summarises a tracking run: fal calls per job and how long after fal finished each job showed completed."""
import json
import sys

scenario, sim_file, jobs_file, cpu_pct, rss_mb, left, submitted, rss_at_start = sys.argv[1:9]
sim = json.load(open(sim_file))
jobs = json.load(open(jobs_file))
done = [j for j in jobs if j["s"] == "completed" and j["r"] in sim["completions"]]

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else None

after_fal = [j["c"] - sim["completions"][j["r"]] for j in done]
after_webhook = [j["c"] - sim["webhooks_delivered"][j["r"]] for j in done if j["r"] in sim["webhooks_delivered"]]
print(json.dumps({
    "scenario": scenario, "jobs": len(jobs), "completed": len(done), "left_behind": int(left),
    "fal_calls_per_job": round(sim["calls"] / max(1, len(jobs)), 2),
    "visible_after_fal_p50_ms": percentile(after_fal, 50), "visible_after_fal_p99_ms": percentile(after_fal, 99),
    "visible_after_webhook_p50_ms": percentile(after_webhook, 50), "visible_after_webhook_p99_ms": percentile(after_webhook, 99),
    "gateway_cpu_pct": float(cpu_pct), "gateway_peak_rss_mb": int(rss_mb), "gateway_rss_at_start_mb": int(rss_at_start), "submit": json.loads(submitted)}))
