package dev.falgate.callback;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.security.SecureRandom;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.swagger.v3.oas.annotations.media.Schema;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

import dev.falgate.web.ApiException;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Signed callbacks to the caller (api.md): the target checked at submit ({@link #problemWith}), the job's terminal
 * event written to the outbox in the transaction that ends the job ({@link #jobEnded}), delivered by
 * {@link CallbackWorker} on any instance; the delivery log and redelivery for the job routes.
 */
@Component
public class Callbacks {

    private static final SecureRandom random = new SecureRandom();
    /** Standard Webhooks ({@code /v1}'s callback_url) or fal's webhook format (the facade's fal_webhook). */
    public static final String STANDARD_FORMAT = "standard";
    public static final String FAL_FORMAT = "fal";
    /** fal retries a webhook up to 10 times over 2 hours; falgate does the same for fal's format. */
    static final java.time.Duration FAL_RETRY_FOR = java.time.Duration.ofHours(2);
    static final int FAL_MAX_ATTEMPTS = 10;

    private final CallbackOutbox outbox;
    private final CallbackTargets targets;
    private final CallbackSettings settings;
    private final JsonMapper json;
    private final Clock clock;

    Callbacks(CallbackOutbox outbox, CallbackTargets targets, CallbackSettings settings, JsonMapper json, Clock clock,
            MeterRegistry meters) {
        this.outbox = outbox;
        this.targets = targets;
        this.settings = settings;
        this.json = json;
        this.clock = clock;
        Gauge.builder("falgate.callbacks.backlog", outbox, o -> o.backlog(clock.instant()).pending())
                .description("Callback events waiting to be delivered (due or backing off)").register(meters);
    }

    /**
     * Why {@code url} can't be a callback target, or empty when it can (checked again at each delivery). When DNS
     * can't answer now, the submit is refused with 503, to be tried again: the URL is never accepted unchecked.
     */
    public Optional<String> problemWith(String url) {
        try {
            return targets.problemAtSubmit(url);
        } catch (CallbackTargets.NoAnswer e) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "callback_url_unchecked", "callback_url could "
                    + "not be checked now (" + e.getMessage() + "); nothing was accepted, submit again shortly.");
        }
    }

    /**
     * The job ended with a callback URL: its event goes into the outbox. Call it in the transaction that ends the job,
     * so the event exists exactly when the end does. {@code jobResource} is the job as callers see it, serialised.
     */
    public void jobEnded(UUID jobId, String client, String url, String format, String status, String jobResource) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        String id = "evt_" + newId();
        String type = "job." + status;
        if (FAL_FORMAT.equals(format)) {
            outbox.add(id, jobId, client, url, type, FAL_FORMAT, falWebhookBody(jobId, json.readTree(jobResource)), now,
                    now.plus(FAL_RETRY_FOR));
            return;
        }
        ObjectNode event = json.createObjectNode().put("id", id).put("type", type).put("created_at", now.toString());
        event.set("data", json.readTree(jobResource));
        outbox.add(id, jobId, client, url, type, STANDARD_FORMAT, json.writeValueAsString(event), now,
                now.plus(settings.retryFor()));
    }

    /**
     * fal's webhook body for the ended job (fal-protocol.md): {@code OK} with fal's output, or {@code ERROR} with fal's
     * error detail (falgate's own reason when fal gave none) and {@code error}.
     */
    private String falWebhookBody(UUID jobId, JsonNode job) {
        ObjectNode body = json.createObjectNode().put("request_id", jobId.toString())
                .put("gateway_request_id", jobId.toString());
        if ("completed".equals(job.path("status").asString())) {
            JsonNode output = json.readTree(job.path("result").toString());
            if (output.path("video") instanceof ObjectNode video) {
                video.remove("archive"); // being copied: the job resource shows the archive's URL once stored
            }
            body.put("status", "OK").set("payload", output);
        } else {
            JsonNode error = job.path("error");
            String message = error.path("message").asString("the request was " + job.path("status").asString());
            JsonNode detail = error.path("fal_detail");
            ObjectNode payload = json.createObjectNode();
            payload.set("detail", detail.isMissingNode() || detail.isNull()
                    ? json.getNodeFactory().stringNode(message) : detail);
            body.put("status", "ERROR").put("error", message).set("payload", payload);
        }
        return json.writeValueAsString(body);
    }

    @Schema(name = "CallbackEvent", description = "A job's terminal event and where its delivery stands")
    public record EventView(
            @Schema(example = "evt_4f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c") String id,
            @Schema(allowableValues = {"job.completed", "job.failed", "job.cancelled"}) String type,
            String url,
            @Schema(allowableValues = {"pending", "delivered", "failed", "gone"},
                    description = "gone: the receiver answered 410 and is not called again") String status,
            @Schema(description = "Attempts since the event was made (or last redelivered)") int attempts,
            Instant createdAt,
            @Schema(nullable = true) Instant nextAttemptAt,
            @Schema(nullable = true) Instant deliveredAt,
            @Schema(nullable = true) String lastError) {

        static EventView of(CallbackOutbox.Event event) {
            return new EventView(event.id(), event.type(), event.url(), event.status(), event.attempts(),
                    event.createdAt(), event.nextAttemptAt(), event.deliveredAt(), event.lastError());
        }
    }

    @Schema(name = "CallbackAttempt", description = "One delivery attempt")
    public record AttemptView(String eventId, Instant attemptedAt,
            @Schema(nullable = true, description = "The receiver's HTTP status; null when no answer came") Integer statusCode,
            @Schema(nullable = true, description = "Why no answer came (timeout, connection, refused target)") String error,
            long durationMs,
            @Schema(nullable = true, description = "When the next attempt is due; null when none follows") Instant nextAttemptAt) {
    }

    @Schema(name = "CallbackLog", description = "A job's callbacks: its events (none until the job ends, or without a "
            + "callback_url; then its one terminal event) and every delivery attempt, oldest first")
    public record DeliveryLog(List<EventView> events, List<AttemptView> attempts) {
    }

    public DeliveryLog deliveriesOf(UUID jobId) {
        return new DeliveryLog(outbox.eventOf(jobId).map(EventView::of).stream().toList(),
                outbox.attemptsOf(jobId).stream().map(a -> new AttemptView(a.eventId(), a.attemptedAt(), a.statusCode(),
                        a.error(), a.durationMs(), a.nextAttemptAt())).toList());
    }

    /** Sends the job's terminal event again (same id), retried afresh; empty when the job has no event. */
    public Optional<EventView> redeliver(UUID jobId) {
        Instant now = clock.instant();
        return outbox.redeliver(jobId, now, now.plus(settings.retryFor()), now.plus(FAL_RETRY_FOR)).map(EventView::of);
    }

    private static String newId() {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }
}
