-- wrk script for the closed-loop accept scenario: POST /v1/jobs with a distinct prompt per request.
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FALGATE_KEY")

function request()
    counter = counter + 1
    local body = string.format('{"input": {"prompt": "Woman walking on a street in Tokyo %d", '
        .. '"video": {"video_url": "https://storage.googleapis.com/falserverless/web-examples/wan/t2v.mp4", '
        .. '"start_frame_num": 24}}, "metadata": {"order_id": "A-%d"}}', counter, counter)
    return wrk.format(nil, nil, nil, body)
end

-- one JSON line on stdout (latencies in microseconds from wrk's histogram)
function done(summary, latency, requests)
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
        + summary.errors.timeout
    io.write(string.format('{"loop": "max", "mode": "submit", "tool": "wrk", "offered": %d, "seconds": %.1f, "ok": %d, "errors": %d, '
        .. '"achieved_rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "p999_ms": %.2f, "max_ms": %.2f}\n',
        tonumber(os.getenv("CONNECTIONS") or "0"), summary.duration / 1e6, summary.requests - errors, errors, (summary.requests - errors) / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
