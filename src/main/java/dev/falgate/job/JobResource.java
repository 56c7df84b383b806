package dev.falgate.job;

import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonRawValue;
import io.swagger.v3.oas.annotations.media.Schema;

import dev.falgate.web.Usd;

/**
 * The job as callers see it (api.md, "The job resource"). JSON columns are passed through as stored; their schemas
 * (fal's input, fal's result, the error) are in {@link JobApiDocs}.
 */
public record JobResource(
        UUID id,
        String client,
        JobStatus status,
        @JsonRawValue String input,
        @JsonRawValue String metadata,
        @Schema(nullable = true, description = "fal's request id once fal holds the job") String falRequestId,
        @Schema(nullable = true, description = "Place in fal's queue while fal reports one") Integer queuePosition,
        @JsonRawValue String result,
        @Schema(type = "string", nullable = true, pattern = Usd.PATTERN, example = "0.12",
                description = "The price charged, once the job ended: the accepted price when completed, 0.00 when "
                        + "fal billed nothing; null before") String costUsd,
        @JsonRawValue String error,
        int attempts,
        @Schema(nullable = true, description = "When a caller asked to cancel a job that fal may already hold") Instant cancelRequestedAt,
        Instant createdAt,
        @Schema(nullable = true) Instant submittedAt,
        @Schema(nullable = true) Instant startedAt,
        @Schema(nullable = true) Instant completedAt,
        @Schema(description = "When the job ends failed (deadline_exceeded) at the latest, if it has not ended before") Instant deadlineAt,
        @Schema(nullable = true, description = "Where the job's signed terminal event is sent, as given on submit") String callbackUrl,
        @Schema(description = "A sandbox key's job: run by falgate's built-in fal simulator, never by fal; costs 0.00")
        boolean sandbox) {

    /** The same resource with another {@code result} (the archive's view added to it). */
    JobResource withResult(String newResult) {
        return new JobResource(id, client, status, input, metadata, falRequestId, queuePosition, newResult, costUsd,
                error, attempts, cancelRequestedAt, createdAt, submittedAt, startedAt, completedAt, deadlineAt, callbackUrl, sandbox);
    }

    static JobResource of(Job job) {
        return new JobResource(job.id(), job.client(), job.status(), job.input(), job.metadata(), job.falRequestId(),
                job.queuePosition(), job.result(), Usd.format(job.costUsd()), job.error(), job.attempts(), job.cancelRequestedAt(), job.createdAt(),
                job.submittedAt(), job.startedAt(), job.completedAt(), job.deadlineAt(), job.callbackUrl(), job.isSandbox());
    }
}
