package dev.falgate.job;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import dev.falgate.access.Caller;
import dev.falgate.access.StreamSlots;
import jakarta.annotation.PreDestroy;
import tools.jackson.databind.json.JsonMapper;

/**
 * Server-Sent Events for front-ends: a {@code status} event with the job (one line of JSON) at connect and at
 * every change, ending after the terminal one; SSE comments keep idle connections open.
 *
 * <p>One shared source per instance, not a poll per stream: every {@value #WATCH_MILLIS} ms one query reads every
 * job that has open streams here, each job is serialised once, and only streams whose last event differs get the
 * new one. It sees what any instance did to the job. (A NOTIFY per job write was tried and measured: PostgreSQL
 * serialises the commits of notifying transactions, and tracking throughput fell from 250 to 166 jobs/s.) Each
 * stream holds one of its key's {@link StreamSlots} and ends when the key is revoked.
 */
@Component
class JobEvents {

    static final long WATCH_MILLIS = 250;

    private static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    private static final Duration RETRY_READ = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(JobEvents.class);

    private final JobRepository jobs;
    private final JobResources resources;
    private final JsonMapper json;
    private final StreamSlots slots;
    private final Format statusEvents;
    private final Map<UUID, Set<Stream>> streams = new ConcurrentHashMap<>();
    private final Set<UUID> changed = ConcurrentHashMap.newKeySet();
    /**
     * Pushes and keep-alives happen on this one thread (a stream's first event is sent on its request thread, before
     * the stream is registered), so a stream's events never interleave. A client that stops reading delays the others
     * by at most the connection's write timeout per write.
     */
    private final ScheduledExecutorService pusher = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "falgate-sse-push");
        thread.setDaemon(true);
        return thread;
    });

    JobEvents(JobRepository jobs, JobResources resources, JsonMapper json, StreamSlots slots) {
        this.jobs = jobs;
        this.resources = resources;
        this.json = json;
        this.slots = slots;
        this.statusEvents = new Format("status", json::writeValueAsString);
    }

    /** The shared source: every watched job, read in one query, a few times a second; nothing when none is watched. */
    @Scheduled(fixedDelay = WATCH_MILLIS)
    void watch() {
        if (!streams.isEmpty()) {
            streams.keySet().forEach(this::changed);
        }
    }

    /** How a stream shows the job: the event's name (null for none) and its data, from the job resource. */
    record Format(String eventName, Function<JobResource, String> data) {
    }

    private static final class Stream {
        final SseEmitter emitter;
        final StreamSlots.Slot slot;
        final Format format;
        volatile String lastSent;
        volatile Instant lastWrite = Instant.now();

        Stream(SseEmitter emitter, StreamSlots.Slot slot, Format format) {
            this.emitter = emitter;
            this.slot = slot;
            this.format = format;
        }
    }

    /** falgate's own format: a {@code status} event with the job resource as JSON. */
    Format statusEvents() {
        return statusEvents;
    }

    /**
     * Opens a stream of {@code job} for {@code caller} (429 when the key holds its maximum of streams): its first
     * event is sent here, then it is registered for pushes, then the job is read once more, so a change committed
     * meanwhile is neither missed nor sent before an older state.
     */
    SseEmitter stream(Caller caller, Job job) {
        return stream(caller, job, statusEvents());
    }

    /** As {@link #stream(Caller, Job)}, each event shown in {@code format}. */
    SseEmitter stream(Caller caller, Job job, Format format) {
        String first = format.data().apply(resources.of(job));
        UUID jobId = job.id();
        SseEmitter emitter = new SseEmitter(STREAM_TIMEOUT.toMillis());
        Stream[] opened = new Stream[1];
        StreamSlots.Slot slot = slots.open(caller, () -> {
            end(jobId, opened[0]);
            emitter.complete();
        });
        Stream stream = new Stream(emitter, slot, format);
        opened[0] = stream;
        try {
            emitter.onCompletion(() -> end(jobId, stream));
            emitter.onTimeout(() -> end(jobId, stream));
            emitter.onError(error -> end(jobId, stream));
            send(jobId, stream, first, job.status().isTerminal());
            if (!job.status().isTerminal()) {
                streams.compute(jobId, (id, watching) -> {
                    Set<Stream> all = watching == null ? ConcurrentHashMap.newKeySet() : watching;
                    all.add(stream);
                    return all;
                });
                changed(jobId);
            }
            return emitter;
        } catch (RuntimeException e) {
            end(jobId, stream);
            throw e;
        }
    }

    private void changed(UUID jobId) {
        if (streams.containsKey(jobId) && changed.add(jobId)) {
            pusher.execute(this::push);
        }
    }

    private void push() {
        List<UUID> ids = List.copyOf(changed);
        if (ids.isEmpty()) {
            return;
        }
        changed.removeAll(ids);
        List<Job> current;
        try {
            current = jobs.findAllById(ids);
        } catch (RuntimeException e) {
            // the database is busy or away: these jobs are read again shortly, so no change (a terminal one above all) is lost
            log.warn("Could not read {} changed job(s) for their SSE streams; retrying in {}: {}", ids.size(),
                    RETRY_READ, e.toString());
            changed.addAll(ids);
            pusher.schedule(this::push, RETRY_READ.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        for (Job job : current) {
            Set<Stream> watching = streams.get(job.id());
            if (watching == null) {
                continue;
            }
            JobResource resource = resources.of(job);
            Map<Format, String> rendered = new java.util.HashMap<>(); // each format serialised once per job
            boolean terminal = job.status().isTerminal();
            watching.forEach(stream -> send(job.id(), stream,
                    rendered.computeIfAbsent(stream.format, format -> format.data().apply(resource)), terminal));
        }
    }

    @Scheduled(fixedDelay = 5_000)
    void keepAlive() {
        Instant idleSince = Instant.now().minus(KEEP_ALIVE);
        pusher.execute(() -> streams.forEach((jobId, watching) -> watching.forEach(stream -> {
            if (stream.lastWrite.isBefore(idleSince)) {
                try {
                    stream.emitter.send(SseEmitter.event().comment("keep-alive"));
                    stream.lastWrite = Instant.now();
                } catch (IOException | IllegalStateException e) {
                    end(jobId, stream); // the front-end went away
                }
            }
        })));
    }

    private void send(UUID jobId, Stream stream, String data, boolean terminal) {
        if (data.equals(stream.lastSent)) {
            return;
        }
        try {
            SseEmitter.SseEventBuilder event = SseEmitter.event().data(data, MediaType.APPLICATION_JSON);
            stream.emitter.send(stream.format.eventName() == null ? event : event.name(stream.format.eventName()));
            stream.lastSent = data;
            stream.lastWrite = Instant.now();
            if (terminal) {
                end(jobId, stream);
                stream.emitter.complete();
            }
        } catch (IOException | IllegalStateException e) {
            end(jobId, stream); // the front-end went away
        }
    }

    private void end(UUID jobId, Stream stream) {
        if (stream == null) {
            return; // revoked before the stream was made: open() refuses it
        }
        stream.slot.close();
        streams.computeIfPresent(jobId, (id, watching) -> {
            watching.remove(stream);
            return watching.isEmpty() ? null : watching;
        });
    }

    @PreDestroy
    void stopPushing() {
        pusher.shutdownNow();
    }
}
