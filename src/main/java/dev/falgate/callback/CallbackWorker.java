package dev.falgate.callback;

import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import dev.falgate.RetryBackoff;

/**
 * Delivers callback events, driven from the database: claims due events under a lease (any number of instances share
 * the work), signs each with its client's secrets at the moment of sending, sends them concurrently, and records every
 * attempt. A 2xx delivers; 410 Gone stops for good; anything else, or no answer, is retried with exponential backoff
 * and jitter until the event's {@code give_up_at}; a target that now resolves to a forbidden address is refused
 * without a connection and retried the same way (its DNS may be fixed). At least once: a crash mid-send leaves the
 * lease to expire and the event is sent again, with the same {@code webhook-id}. Tests call {@link #runOnce()}.
 */
@Component
class CallbackWorker {

    private static final Logger log = LoggerFactory.getLogger(CallbackWorker.class);
    private static final int BATCH = 32;

    private final CallbackOutbox outbox;
    private final CallbackSecrets secrets;
    private final CallbackTargets targets;
    private final CallbackSender sender;
    private final CallbackSettings settings;
    private final RetryBackoff backoff;
    private final Clock clock;
    private final MeterRegistry meters;
    private final boolean enabled;

    CallbackWorker(CallbackOutbox outbox, CallbackSecrets secrets, CallbackTargets targets, WebClient.Builder web,
            CallbackSettings settings, Clock clock, MeterRegistry meters,
            @Value("${falgate.worker.enabled:true}") boolean enabled) {
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

    @Scheduled(fixedDelay = 1_000)
    void tick() {
        if (enabled) {
            try {
                while (runOnce() == BATCH) {
                    // a full batch: more may be due
                }
            } catch (RuntimeException e) {
                log.warn("Callback round failed; trying again shortly: {}", e.toString());
            }
        }
    }

    /** One round, as tests step it: delivers what is due now. Returns how many events it attempted. */
    int runOnce() {
        Instant now = clock.instant();
        List<CallbackOutbox.Claim> claimed = outbox.claimDue(BATCH, now, now.plus(settings.lease()));
        // sent concurrently; outcomes are written here, on the worker's thread, never on a network thread
        List<Tried> tried = Flux.fromIterable(claimed).flatMap(this::attempt, BATCH).collectList().block();
        tried.forEach(this::settle);
        return claimed.size();
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

    private Ready prepare(CallbackOutbox.Claim claim, Instant now) throws CallbackTargets.Refused, UnknownHostException {
        CallbackTargets.Pinned target = targets.pin(claim.url());
        long timestamp = now.getEpochSecond();
        String signature = CallbackSignature.header(secrets.signingNow(claim.client(), now), claim.id(), timestamp,
                claim.payload());
        return new Ready(target, new CallbackSender.Signed(claim.id(), timestamp, signature, claim.payload()));
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
            next = clock.instant().plus(backoff.after(claim.attempts()));
            outcome = next.isAfter(claim.giveUpAt()) ? CallbackOutbox.FAILED : CallbackOutbox.PENDING;
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
