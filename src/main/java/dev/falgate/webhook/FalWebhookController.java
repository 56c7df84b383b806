package dev.falgate.webhook;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.servlet.http.HttpServletRequest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.fal.FalAccount;
import dev.falgate.job.JobService;
import dev.falgate.web.ApiException;
import dev.falgate.web.BodyTooLarge;
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
    private final FalAccount falAccount;
    private final JobService jobs;
    private final JsonMapper json;

    FalWebhookController(WebhookSignature signature, FalAccount falAccount, JobService jobs, JsonMapper json) {
        this.signature = signature;
        this.falAccount = falAccount;
        this.jobs = jobs;
        this.json = json;
    }

    /**
     * The order is the point: headers first (presence, form, freshness, our account), then at most 64 KiB of body
     * (BodySizeLimitFilter), then the signature over both; an anonymous sender costs no read beyond the cap.
     */
    @PostMapping("/fal/webhooks/{jobId}")
    ResponseEntity<Map<String, Object>> receive(@PathVariable String jobId,
            @RequestHeader(name = "X-Fal-Webhook-Request-Id", required = false) String requestId,
            @RequestHeader(name = "X-Fal-Webhook-User-Id", required = false) String userId,
            @RequestHeader(name = "X-Fal-Webhook-Timestamp", required = false) String timestamp,
            @RequestHeader(name = "X-Fal-Webhook-Signature", required = false) String signatureHex,
            HttpServletRequest request) throws IOException {
        WebhookSignature.SignedHeaders headers = signature.checkHeaders(requestId, userId, timestamp, signatureHex);
        if (!falAccount.mayBeOurs(userId)) {
            throw new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", "The delivery names another fal account's user.");
        }
        byte[] raw = readBody(request);
        signature.verify(headers, raw);
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

    /** At most 64 KiB (BodySizeLimitFilter); a sender that stalls past the connection timeout or goes away is a 400. */
    private static byte[] readBody(HttpServletRequest request) throws IOException {
        try {
            return request.getInputStream().readAllBytes();
        } catch (BodyTooLarge e) {
            throw e; // answered 413 by the advice
        } catch (IOException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "validation_failed",
                    "The request body could not be read: the sender stalled or went away.");
        }
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
