package dev.falgate.job;

import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonRawValue;
import io.swagger.v3.oas.annotations.media.Schema;

import dev.falgate.web.Usd;

/** The job as callers see it (api.md, "The job resource"). JSON columns are passed through as stored. */
record JobResource(
        UUID id,
        String client,
        JobStatus status,
        @JsonRawValue @Schema(type = "object", description = "The effective input sent to fal: the caller's fields plus fal's defaults") String input,
        @JsonRawValue @Schema(type = "object", nullable = true) String metadata,
        String falRequestId,
        Integer queuePosition,
        @JsonRawValue @Schema(type = "object", nullable = true, description = "fal's answer: video (every File field) and seed") String result,
        @Schema(type = "string", example = "0.12", nullable = true) String costUsd,
        @JsonRawValue @Schema(type = "object", nullable = true) String error,
        int attempts,
        @Schema(nullable = true, description = "When a caller asked to cancel a job that fal may already hold") Instant cancelRequestedAt,
        Instant createdAt,
        Instant submittedAt,
        Instant startedAt,
        Instant completedAt,
        @Schema(description = "When the job ends failed (deadline_exceeded) at the latest, if it has not ended before") Instant deadlineAt) {

    static JobResource of(Job job) {
        return new JobResource(job.id(), job.client(), job.status(), job.input(), job.metadata(), job.falRequestId(),
                job.queuePosition(), job.result(), Usd.format(job.costUsd()), job.error(), job.attempts(), job.cancelRequestedAt(), job.createdAt(),
                job.submittedAt(), job.startedAt(), job.completedAt(), job.deadlineAt());
    }
}
