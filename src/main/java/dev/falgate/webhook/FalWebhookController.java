package dev.falgate.webhook;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.job.JobService;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Receives fal's webhooks ({@code $FALGATE_PUBLIC_URL/fal/webhooks/{job id}}), outside {@code /v1} and its
 * API keys: only fal's signature is trusted. fal retries deliveries, so handling is idempotent; the job is
 * worked on at once, in this request, so its result is stored when fal's delivery is answered (polling stays
 * as the slower fallback).
 */
@RestController
class FalWebhookController {

    private static final Logger log = LoggerFactory.getLogger(FalWebhookController.class);

    private final WebhookSignature signature;
    private final JobService jobs;
    private final JsonMapper json;

    FalWebhookController(WebhookSignature signature, JobService jobs, JsonMapper json) {
        this.signature = signature;
        this.jobs = jobs;
        this.json = json;
    }

    @PostMapping("/fal/webhooks/{jobId}")
    ResponseEntity<Map<String, Object>> receive(@PathVariable String jobId,
            @RequestHeader(name = "X-Fal-Webhook-Request-Id", required = false) String requestId,
            @RequestHeader(name = "X-Fal-Webhook-User-Id", required = false) String userId,
            @RequestHeader(name = "X-Fal-Webhook-Timestamp", required = false) String timestamp,
            @RequestHeader(name = "X-Fal-Webhook-Signature", required = false) String signatureHex,
            @RequestBody(required = false) byte[] body) {
        byte[] raw = body == null ? new byte[0] : body;
        signature.verify(requestId, userId, timestamp, signatureHex, raw);
        JsonNode delivery = parse(raw);
        String bodyRequestId = delivery.path("request_id").asString("");
        if (!bodyRequestId.isEmpty() && !bodyRequestId.equals(requestId)) {
            throw ApiException.validationFailed(List.of(
                    new FieldProblem("request_id", "differs from the signed X-Fal-Webhook-Request-Id")));
        }
        UUID job = parseJobId(jobId);
        String status = delivery.path("status").asString("?");
        log.info("Job {}: fal webhook for request {} ({})", job, requestId, status);
        // a signed "OK" is what fal's status call would say: the job's round goes straight to the result
        jobs.falReported(job, requestId, userId, status.equals("OK"));
        return ResponseEntity.ok(Map.of("received", true));
    }

    private JsonNode parse(byte[] raw) {
        try {
            return json.readTree(raw);
        } catch (RuntimeException e) {
            return json.createObjectNode(); // signed by fal, so accepted; the request id comes from the header
        }
    }

    private static UUID parseJobId(String jobId) {
        try {
            return UUID.fromString(jobId);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("No job " + jobId + ".");
        }
    }
}
