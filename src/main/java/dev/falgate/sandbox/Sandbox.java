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

    private final FalSimulator simulator;
    private final FalClient client;

    Sandbox(WebClient.Builder web, JsonMapper json, Clock clock) throws IOException {
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String key = "sandbox-" + HexFormat.of().formatHex(secret);
        // a finished request is forgotten after a day: falgate has long since fetched it by then
        simulator = FalSimulator.start(0, key).setTiming(QUEUE, RUN).keepingNothingFor(Duration.ofDays(1));
        simulator.useClock(clock);
        try (InputStream sample = new ClassPathResource("sandbox/sample.mp4").getInputStream()) {
            simulator.serveSample(sample.readAllBytes());
        }
        client = FalClient.ofSimulator(simulator.baseUrl(), key, web, json, clock);
        log.info("Sandbox: sandbox keys' jobs run on the built-in fal simulator at {}", simulator.baseUrl());
    }

    /** fal's protocol as the sandbox speaks it. */
    public FalClient client() {
        return client;
    }

    /** The simulator's origin, whose output files (the sample video) the archive may copy. */
    public URI origin() {
        return simulator.baseUrl();
    }

    @Override
    public void destroy() {
        simulator.close();
    }
}
