package dev.falgate.job;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.http.MediaType;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import tools.jackson.databind.json.JsonMapper;

/**
 * Server-Sent Events for front-ends: a {@code status} event with the job (one line of JSON) at connect and
 * at every change, ending after the terminal one; SSE comments keep idle connections open. Changes are read
 * from the database twice a second, so a stream sees what any gateway instance did to the job.
 */
@Component
class JobEvents {

    private static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    private final JobRepository jobs;
    private final JsonMapper json;
    private final Map<SseEmitter, Subscription> subscriptions = new ConcurrentHashMap<>();

    JobEvents(JobRepository jobs, JsonMapper json) {
        this.jobs = jobs;
        this.json = json;
    }

    private static final class Subscription {
        final UUID jobId;
        volatile String lastSent;
        volatile Instant lastWrite = Instant.now();

        Subscription(UUID jobId) {
            this.jobId = jobId;
        }
    }

    SseEmitter stream(Job job) {
        SseEmitter emitter = new SseEmitter(STREAM_TIMEOUT.toMillis());
        Subscription subscription = new Subscription(job.id());
        emitter.onCompletion(() -> subscriptions.remove(emitter));
        emitter.onTimeout(() -> subscriptions.remove(emitter));
        emitter.onError(error -> subscriptions.remove(emitter));
        subscriptions.put(emitter, subscription);
        send(emitter, subscription, job);
        return emitter;
    }

    @Scheduled(fixedDelay = 500)
    void tick() {
        if (subscriptions.isEmpty()) {
            return;
        }
        Map<UUID, Job> current = new ConcurrentHashMap<>();
        jobs.findAllById(subscriptions.values().stream().map(s -> s.jobId).distinct().toList())
                .forEach(job -> current.put(job.id(), job));
        subscriptions.forEach((emitter, subscription) -> {
            Job job = current.get(subscription.jobId);
            if (job != null) {
                send(emitter, subscription, job);
            }
            if (subscriptions.containsKey(emitter) && subscription.lastWrite.plus(KEEP_ALIVE).isBefore(Instant.now())) {
                keepAlive(emitter, subscription);
            }
        });
    }

    private void send(SseEmitter emitter, Subscription subscription, Job job) {
        String data = json.writeValueAsString(JobResource.of(job));
        if (data.equals(subscription.lastSent)) {
            return;
        }
        try {
            emitter.send(SseEmitter.event().name("status").data(data, MediaType.APPLICATION_JSON));
            subscription.lastSent = data;
            subscription.lastWrite = Instant.now();
            if (job.status().isTerminal()) {
                subscriptions.remove(emitter);
                emitter.complete();
            }
        } catch (IOException | IllegalStateException e) {
            subscriptions.remove(emitter); // the front-end went away
        }
    }

    private void keepAlive(SseEmitter emitter, Subscription subscription) {
        try {
            emitter.send(SseEmitter.event().comment("keep-alive"));
            subscription.lastWrite = Instant.now();
        } catch (IOException | IllegalStateException e) {
            subscriptions.remove(emitter);
        }
    }
}
