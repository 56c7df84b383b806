package dev.falgate.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import dev.falgate.fal.FalClient;
import dev.falgate.simulator.FalSimulator;
import tools.jackson.databind.json.JsonMapper;

/**
 * Where sandbox keys' jobs run (api.md, "Sandbox keys"): falgate's built-in fal simulator, on a loopback port of its
 * own with a key of its own, with fal's timings and shapes, returning a real playable sample video (160×90, 2 s,
 * H.264, in {@code sandbox/sample.mp4}). The job pipeline is the same as for fal's jobs, only its {@link FalClient}
 * is this one, so a sandbox job can never call fal. Prompt markers choose outcomes ({@link FalSimulator}).
 */
@Component
public class Sandbox implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Sandbox.class);
    /** fal's usual pace for this model, shortened: a sandbox job ends within seconds. */
    private static final Duration QUEUE = Duration.ofSeconds(1);
    private static final Duration RUN = Duration.ofSeconds(3);

    /**
     * Where sandbox results say their video is: a name that resolves nowhere, the same on every instance. The archive
     * stores the sample for it without fetching anything ({@link #isSample}).
     */
    static final URI MEDIA_BASE = URI.create("http://sandbox.falgate.invalid");

    private final FalSimulator simulator;
    private final FalClient client;
    private final byte[] sample;

    Sandbox(WebClient.Builder web, JsonMapper json, Clock clock, JdbcClient jdbc) throws IOException {
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String key = "sandbox-" + HexFormat.of().formatHex(secret);
        // a finished request is forgotten after a day: falgate has long since fetched it by then
        simulator = FalSimulator.start(0, key).setTiming(QUEUE, RUN).keepingNothingFor(Duration.ofDays(1));
        simulator.useClock(clock);
        try (InputStream video = new ClassPathResource("sandbox/sample.mp4").getInputStream()) {
            sample = video.readAllBytes();
        }
        simulator.serveSample(sample);
        simulator.namingMediaUnder(MEDIA_BASE);
        // another instance's simulator (or this one before a restart) may have created the request: its job knows it
        simulator.recoveringWith(requestId -> jdbc.sql("""
                select coalesce(submit_started_at, created_at) as created_at, input::text as input from job
                 where fal_request_id = ? and sandbox""").param(requestId)
                .query((row, n) -> new FalSimulator.Recovered(row.getTimestamp("created_at").toInstant(),
                        row.getString("input")))
                .optional());
        client = FalClient.ofSimulator(simulator.baseUrl(), key, web, json, clock);
        log.info("Sandbox: sandbox keys' jobs run on the built-in fal simulator at {}", simulator.baseUrl());
    }

    /** fal's protocol as the sandbox speaks it. */
    public FalClient client() {
        return client;
    }

    /** Whether {@code url} names a sandbox result's video: the sample, stored without a download. */
    public boolean isSample(String url) {
        URI parsed = URI.create(url);
        return MEDIA_BASE.getHost().equalsIgnoreCase(parsed.getHost()) && MEDIA_BASE.getScheme().equals(parsed.getScheme());
    }

    /** The sample video every sandbox job returns. */
    public byte[] sample() {
        return sample.clone();
    }

    @Override
    public void destroy() {
        simulator.close();
    }
}
