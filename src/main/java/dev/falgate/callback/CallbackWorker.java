package dev.falgate.callback;

import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import dev.falgate.BackgroundLoop;
import dev.falgate.RetryBackoff;

/**
 * Delivers callback events, driven from the database: claims due events under a lease (any number of instances share
 * the work), signs each with its client's secrets at the moment of sending, sends them concurrently, and records every
 * attempt. A 2xx delivers; 410 Gone stops for good; anything else, or no answer, is retried with exponential backoff
 * and jitter until the event's {@code give_up_at}; a target that now resolves to a forbidden address is refused
 * without a connection and retried the same way (its DNS may be fixed). At least once: a crash mid-send leaves the
 * lease to expire and the event is sent again, with the same {@code webhook-id}. Runs on a {@link BackgroundLoop} of
 * its own; tests call {@link #runOnce()} and {@link #awaitIdle()}.
 */
@Component
class CallbackWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(CallbackWorker.class);
    private static final int BATCH = 32;
    /** Attempts in flight on one instance at once. */
    static final int IN_FLIGHT = 64;
    /** Attempts in flight for one client's events at once (a little more across two rounds). */
    static final int PER_CLIENT = 8;

    private final CallbackOutbox outbox;
    private final CallbackSecrets secrets;
    private final CallbackTargets targets;
    private final CallbackSender sender;
    private final CallbackSettings settings;
    private final RetryBackoff backoff;
    /** fal's schedule for its webhooks: 10 attempts spread over 2 hours. */
    private final RetryBackoff falBackoff = new RetryBackoff(Duration.ofSeconds(10), Duration.ofMinutes(30));
    private final WebhookSigningKeys falKeys;
    private final Clock clock;
    private final MeterRegistry meters;
    private final boolean enabled;
    private final Semaphore free = new Semaphore(IN_FLIGHT);
    private final Map<String, AtomicInteger> inFlightByClient = new ConcurrentHashMap<>();
    /** Writes outcomes off the network threads (a database write each). */
    private final ExecutorService settling = Executors.newFixedThreadPool(2, task -> {
        Thread thread = new Thread(task, "falgate-callback-settle");
        thread.setDaemon(true);
        return thread;
    });
    private final BackgroundLoop loop = new BackgroundLoop("falgate-callback-loop", this::runOnce, Duration.ofSeconds(1));

    CallbackWorker(CallbackOutbox outbox, CallbackSecrets secrets, WebhookSigningKeys falKeys, CallbackTargets targets,
            WebClient.Builder web, CallbackSettings settings, Clock clock, MeterRegistry meters,
            @Value("${falgate.worker.enabled:true}") boolean enabled) {
        this.falKeys = falKeys;
        this.outbox = outbox;
        this.secrets = secrets;
        this.targets = targets;
        this.sender = new CallbackSender(web, settings);
        this.settings = settings;
        this.backoff = new RetryBackoff(settings.retryBase(), settings.retryCap());
        this.clock = clock;
        this.meters = meters;
        this.enabled = enabled;
    }

    /**
     * One turn of the loop, as tests step it: claims due events (as many as there is room for in flight, at most
     * {@link #PER_CLIENT} per client, none for a client that already has that many in flight, so one caller's
     * unresponsive receiver can't hold up everyone else's callbacks) and starts their attempts, which run without a
     * thread each; each outcome is written as soon as it is known. Returns how many attempts it started.
     */
    int runOnce() {
        int room = Math.min(BATCH, free.availablePermits());
        if (room == 0) {
            return 0;
        }
        Instant now = clock.instant();
        String[] busy = inFlightByClient.entrySet().stream().filter(entry -> entry.getValue().get() >= PER_CLIENT)
                .map(Map.Entry::getKey).toArray(String[]::new);
        List<CallbackOutbox.Claim> claimed = outbox.claimDue(room, PER_CLIENT, busy, now, now.plus(settings.lease()));
        for (CallbackOutbox.Claim claim : claimed) {
            free.acquireUninterruptibly();
            inFlightByClient.computeIfAbsent(claim.client(), client -> new AtomicInteger()).incrementAndGet();
            attempt(claim).subscribe(tried -> settling.execute(() -> {
                try {
                    settle(tried);
                } finally {
                    inFlightByClient.get(claim.client()).decrementAndGet();
                    free.release();
                }
            }));
        }
        return claimed.size();
    }

    /** Waits until every attempt this instance started has its outcome written. */
    void awaitIdle() {
        free.acquireUninterruptibly(IN_FLIGHT);
        free.release(IN_FLIGHT);
    }

    /** Whether this instance delivers and its loop is alive (not whether receivers answer). */
    boolean isLive() {
        return !enabled || loop.isLive(Duration.ofMinutes(1));
    }

    @Override
    public void start() {
        if (enabled) {
            loop.start();
        }
    }

    @Override
    public void stop() {
        loop.stop();
    }

    @Override
    public boolean isRunning() {
        return loop.isRunning();
    }

    /** One attempt's result: the answer's status, or the error that kept one from coming. */
    private record Tried(CallbackOutbox.Claim claim, CallbackOutbox.Attempt attempt) {
    }

    private Mono<Tried> attempt(CallbackOutbox.Claim claim) {
        Instant started = clock.instant();
        long startedNanos = System.nanoTime();
        // a name lookup and a database read: off the network threads
        return Mono.fromCallable(() -> prepare(claim, started)).subscribeOn(Schedulers.boundedElastic())
                .flatMap(ready -> sender.send(ready.target(), ready.signed()))
                .map(status -> tried(claim, started, startedNanos, status, null))
                .onErrorResume(e -> Mono.just(tried(claim, started, startedNanos, null, describe(e))));
    }

    private record Ready(CallbackTargets.Pinned target, CallbackSender.Signed signed) {
    }

    private Ready prepare(CallbackOutbox.Claim claim, Instant now)
            throws CallbackTargets.Refused, CallbackTargets.NoAnswer, UnknownHostException {
        CallbackTargets.Pinned target = targets.pin(claim.url());
        long timestamp = now.getEpochSecond();
        Map<String, String> headers;
        if (Callbacks.FAL_FORMAT.equals(claim.format())) {
            // fal's own headers, the caller's client standing for fal's user id
            String requestId = claim.jobId().toString();
            headers = Map.of("X-Fal-Webhook-Request-Id", requestId, "X-Fal-Webhook-User-Id", claim.client(),
                    "X-Fal-Webhook-Timestamp", Long.toString(timestamp),
                    "X-Fal-Webhook-Signature", falKeys.sign(requestId, claim.client(), timestamp, claim.payload()));
        } else {
            headers = Map.of("webhook-id", claim.id(), "webhook-timestamp", Long.toString(timestamp),
                    "webhook-signature", CallbackSignature.header(secrets.signingNow(claim.client(), now), claim.id(),
                            timestamp, claim.payload()));
        }
        return new Ready(target, new CallbackSender.Signed(headers, claim.payload()));
    }

    private static Tried tried(CallbackOutbox.Claim claim, Instant started, long startedNanos, Integer status,
            String error) {
        return new Tried(claim, new CallbackOutbox.Attempt(started, status, error,
                Duration.ofNanos(System.nanoTime() - startedNanos).toMillis()));
    }

    private void settle(Tried tried) {
        CallbackOutbox.Claim claim = tried.claim();
        CallbackOutbox.Attempt attempt = tried.attempt();
        Integer status = attempt.statusCode();
        String outcome;
        Instant next = null;
        if (status != null && status >= 200 && status < 300) {
            outcome = CallbackOutbox.DELIVERED;
        } else if (status != null && status == 410) {
            outcome = CallbackOutbox.GONE;
        } else {
            boolean falFormat = Callbacks.FAL_FORMAT.equals(claim.format());
            next = clock.instant().plus((falFormat ? falBackoff : backoff).after(claim.attempts()));
            outcome = next.isAfter(claim.giveUpAt()) || (falFormat && claim.attempts() >= Callbacks.FAL_MAX_ATTEMPTS)
                    ? CallbackOutbox.FAILED : CallbackOutbox.PENDING;
            if (outcome.equals(CallbackOutbox.FAILED)) {
                next = null;
            }
        }
        try {
            boolean recorded = outbox.record(claim, attempt, outcome, next);
            meters.counter("falgate.callbacks.attempts", "outcome", status != null ? status / 100 + "xx" : "no_answer")
                    .increment();
            if (recorded && !outcome.equals(CallbackOutbox.PENDING)) {
                Counter.builder("falgate.callbacks.events").description("Callback events that reached an end")
                        .tag("outcome", outcome).register(meters).increment();
            }
            if (!recorded) {
                log.info("Job {}: callback {} attempt {} ended ({}) after its lease was taken over (redelivered, or "
                        + "too slow); the event is sent again", claim.jobId(), claim.id(), claim.attempts(),
                        attempt.summary());
                return;
            }
            switch (outcome) {
                case CallbackOutbox.DELIVERED -> log.info("Job {}: callback {} delivered (HTTP {}, attempt {})",
                        claim.jobId(), claim.id(), status, claim.attempts());
                case CallbackOutbox.GONE -> log.info("Job {}: callback {} answered 410 Gone; not sent again",
                        claim.jobId(), claim.id());
                case CallbackOutbox.FAILED -> log.warn("Job {}: callback {} not delivered after {} attempts: {}",
                        claim.jobId(), claim.id(), claim.attempts(), attempt.summary());
                default -> log.info("Job {}: callback {} attempt {} failed ({}); next at {}", claim.jobId(), claim.id(),
                        claim.attempts(), attempt.summary(), next);
            }
        } catch (RuntimeException e) {
            // the lease runs out and the event is sent again: at least once
            log.warn("Job {}: could not record callback attempt: {}", claim.jobId(), e.toString());
        }
    }

    /** What went wrong, without the target's URL (it may carry a caller's token in its query). */
    private static String describe(Throwable e) {
        if (e instanceof CallbackTargets.Refused refused) {
            return "refused: " + refused.getMessage();
        }
        if (e instanceof UnknownHostException unknown) {
            return "unknown host: " + unknown.getMessage();
        }
        if (e instanceof CallbackTargets.NoAnswer noAnswer) {
            return "host not resolved: " + noAnswer.getMessage();
        }
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String kind = cause.getClass().getSimpleName();
        if (cause instanceof java.util.concurrent.TimeoutException || kind.contains("Timeout")) {
            return "no answer within the timeout";
        }
        if (cause instanceof java.net.ConnectException || kind.contains("Connect")) {
            return "connection failed";
        }
        if (kind.contains("Ssl") || kind.contains("Certificate") || kind.contains("Handshake")) {
            return "TLS failed: " + kind;
        }
        return "request failed: " + kind;
    }
}
