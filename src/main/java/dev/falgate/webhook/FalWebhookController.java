package dev.falgate.webhook;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import jakarta.servlet.http.HttpServletRequest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.fal.FalAccount;
import dev.falgate.job.JobService;
import dev.falgate.web.ApiException;
import dev.falgate.web.BodyTooLarge;
import dev.falgate.web.BodyTooSlow;
import dev.falgate.web.FieldProblem;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
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

    /** What falgate answers a delivery it took (or ignored, for an unknown job: fal must stop retrying). */
    record Received(boolean received) {
    }

    /** fal's webhook body, as fal documents it: read raw, since the signature covers the exact bytes. */
    record Delivery(@Schema(requiredMode = Schema.RequiredMode.REQUIRED) String requestId, String gatewayRequestId,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"OK", "ERROR"}) String status,
            @Schema(description = "fal's result for OK, its error detail for ERROR") Object payload,
            @Schema(description = "fal's error message for ERROR") String error) {
    }

    /**
     * The order is the point: headers first (presence, form, freshness, our account), then at most 64 KiB of body
     * (BodySizeLimitFilter), then the signature over both; an anonymous sender costs no read beyond the cap.
     */
    @Operation(operationId = "receiveFalWebhook", summary = "fal's webhook for a job", description = """
            Called by fal, not by API clients: no API key, only fal's ED25519 signature over the X-Fal-Webhook-* headers
            and the body, from our own fal account. Valid and repeated deliveries answer 200 and change nothing twice.""",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = Delivery.class))))
    @ApiResponse(responseCode = "200", description = "Taken, or ignored (a job falgate does not know)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = Received.class)))
    @ApiResponse(responseCode = "400", description = "The body's request_id differs from the signed header "
            + "(validation_failed)")
    @ApiResponse(responseCode = "401", description = "A missing, bad or stale signature, or another fal account's "
            + "delivery (unauthorized)")
    @ApiResponse(responseCode = "404", description = "The path names no job id (not_found)")
    @ApiResponse(responseCode = "408", description = "The body took longer than 10 s to arrive (request_timeout)")
    @ApiResponse(responseCode = "413", description = "The body exceeds 64 KiB (payload_too_large)")
    @ApiResponse(responseCode = "503", description = "fal has not yet confirmed the request to our key; fal delivers "
            + "again later (fal_unconfirmed)")
    @PostMapping("/fal/webhooks/{jobId}")
    ResponseEntity<Received> receive(@PathVariable String jobId,
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
        return ResponseEntity.ok(new Received(true));
    }

    /** At most 64 KiB within 10 s (BodySizeLimitFilter); a sender that stalls or goes away is a 400. */
    private static byte[] readBody(HttpServletRequest request) throws IOException {
        try {
            return request.getInputStream().readAllBytes();
        } catch (BodyTooLarge | BodyTooSlow e) {
            throw e; // answered 413 or 408 by the advice
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
