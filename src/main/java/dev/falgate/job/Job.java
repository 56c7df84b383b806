package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import org.hibernate.annotations.ColumnTransformer;

import dev.falgate.callback.Callbacks;
import dev.falgate.fal.FalRequest;
import dev.falgate.ledger.FalRequestEntry;
import dev.falgate.ledger.StoredOnce;

/**
 * One extend request and everything falgate knows of it. Every change of status happens through
 * the guarded methods below, which refuse a move backwards or out of a terminal state, so this file
 * is the whole state machine: queued → submitted → in_progress → completed | failed | cancelled.
 * The lease columns are claimed by {@link JobClaims}; every write checks the lease token first.
 * JSON columns are {@code json}, not {@code jsonb}: they keep the text exactly as written (field order
 * included), which is also exactly what is sent to fal.
 */
@Entity
@Table(name = "job")
class Job extends StoredOnce<UUID> {

    @Id
    private UUID id;
    private String client;
    private JobStatus status;
    private String endpointId;
    @Column(columnDefinition = "json")
    @ColumnTransformer(write = "?::json")
    private String input;
    @Column(columnDefinition = "json")
    @ColumnTransformer(write = "?::json")
    private String metadata;
    private BigDecimal priceUsd;
    private BigDecimal costUsd;

    private String falRequestId;
    private String falStatusUrl;
    private String falResponseUrl;
    private String falCancelUrl;
    private Integer queuePosition;

    @Column(columnDefinition = "json")
    @ColumnTransformer(write = "?::json")
    private String result;
    private Long seed;
    private String videoUrl;
    @Column(name = "inference_time_s")
    private BigDecimal inferenceTimeSeconds;
    private BigDecimal billableUnits;
    @Column(columnDefinition = "json")
    @ColumnTransformer(write = "?::json")
    private String error;

    private int attempts;
    private Instant nextAttemptAt;
    private String leaseOwner;
    private UUID leaseToken;
    private Instant leaseExpiresAt;
    private Instant submitStartedAt;
    private String idempotencyKey;
    private String requestHash;
    private Instant cancelRequestedAt;
    private Instant refusedSince;
    private Instant deadlineAt;
    private String callbackUrl;
    /** A sandbox key's job: run by the sandbox's simulator, never by fal, and free. */
    private boolean sandbox;
    /** {@code standard} (Standard Webhooks, {@code /v1}) or {@code fal} (fal's webhook format, the facade's fal_webhook). */
    private String callbackFormat = Callbacks.STANDARD_FORMAT;

    private Instant createdAt;
    private Instant submittedAt;
    private Instant startedAt;
    private Instant completedAt;
    private Instant updatedAt;

    protected Job() {
        // for JPA
    }

    @Override
    public UUID getId() {
        return id;
    }

    /**
     * A new job, due for submission at once, charged {@code price} for each video fal bills for it, and ended
     * at {@code deadline} at the latest.
     */
    static Job accept(String client, String endpointId, String input, String metadata, BigDecimal price,
            String idempotencyKey, String requestHash, Instant now, Instant deadline, String callbackUrl,
            String callbackFormat, boolean sandbox) {
        Job job = new Job();
        job.sandbox = sandbox;
        job.callbackUrl = callbackUrl;
        job.callbackFormat = callbackFormat;
        job.idempotencyKey = idempotencyKey;
        job.requestHash = requestHash;
        job.id = UUID.randomUUID();
        job.client = client;
        job.status = JobStatus.QUEUED;
        job.endpointId = endpointId;
        job.input = input;
        job.metadata = metadata;
        job.priceUsd = price;
        job.createdAt = now;
        job.updatedAt = now;
        job.nextAttemptAt = now;
        job.deadlineAt = deadline;
        return job;
    }

    // --- submission -------------------------------------------------------------------------

    /**
     * Written before the submit leaves: if we crash or the answer is lost, the next worker sees a submit
     * whose outcome is unknown and does not blindly send it again.
     */
    void beginSubmit(Instant now) {
        requireStatus(JobStatus.QUEUED, "begin a submit");
        if (cancelRequestedAt != null) {
            // once a caller was told "cancelled", nothing may reach fal for the job any more
            throw new IllegalStateException("job " + id + " has a cancel requested; cannot begin a submit");
        }
        attempts++;
        submitStartedAt = now;
        updatedAt = now;
    }

    /** fal holds the request: remember it and the URLs fal gave for following it up. */
    void markSubmitted(FalRequest request, Integer position, Instant now, Instant firstPoll) {
        requireStatus(JobStatus.QUEUED, "mark submitted");
        status = JobStatus.SUBMITTED;
        falRequestId = request.requestId();
        falStatusUrl = text(request.statusUrl());
        falResponseUrl = text(request.responseUrl());
        falCancelUrl = text(request.cancelUrl());
        queuePosition = position;
        submitStartedAt = null;
        refusedSince = null;
        submittedAt = now;
        updatedAt = now;
        nextAttemptAt = notAfterDeadline(firstPoll);
    }

    /** fal created nothing (5xx, 429, no connection): try the submit again at {@code due}. */
    void retrySubmitAt(Instant due, Instant now) {
        requireStatus(JobStatus.QUEUED, "retry a submit");
        submitStartedAt = null;
        nextAttemptAt = notAfterDeadline(due);
        updatedAt = now;
    }

    /** fal refused our key or account: an operator problem. Remember since when, and try again at {@code due}. */
    void refusedByFal(Instant due, Instant now) {
        retrySubmitAt(due, now);
        if (refusedSince == null) {
            refusedSince = now;
        }
    }

    /** The submit's answer was lost: fal may hold the request. Keep the evidence, look again at {@code due}. */
    void awaitUnknownSubmitUntil(Instant due, Instant now) {
        requireStatus(JobStatus.QUEUED, "await an unknown submit");
        nextAttemptAt = notAfterDeadline(due);
        updatedAt = now;
    }

    boolean hasUnknownSubmit() {
        return status == JobStatus.QUEUED && submitStartedAt != null;
    }

    // --- tracking at fal ----------------------------------------------------------------------

    /** Still queued at fal. A request fal retries may go back to its queue; our status never goes back. */
    void markInQueue(Integer position, Instant now, Instant nextPoll) {
        requireAtFal("note the queue position");
        if (status == JobStatus.SUBMITTED) {
            queuePosition = position;
        }
        pollAgainAt(nextPoll, now);
    }

    void markInProgress(Instant now, Instant nextPoll) {
        requireAtFal("mark in progress");
        if (status == JobStatus.SUBMITTED) {
            status = JobStatus.IN_PROGRESS;
            startedAt = now;
            queuePosition = null;
        }
        pollAgainAt(nextPoll, now);
    }

    void pollAgainAt(Instant nextPoll, Instant now) {
        requireAtFal("poll again");
        nextAttemptAt = notAfterDeadline(nextPoll);
        updatedAt = now;
    }

    /**
     * fal produced the video: keep every field of its answer. {@code cost} is what the ledger says fal billed
     * for the job (the price in force at acceptance, per billed request).
     */
    void markCompleted(String resultJson, Long seed, String videoUrl, BigDecimal inferenceTime,
            BigDecimal billableUnits, BigDecimal cost, Instant now) {
        requireAtFal("complete");
        status = JobStatus.COMPLETED;
        result = resultJson;
        this.seed = seed;
        this.videoUrl = videoUrl;
        inferenceTimeSeconds = inferenceTime;
        this.billableUnits = billableUnits;
        finish(cost, now);
    }

    /** The job ends without a video; {@code cost} is what fal billed anyway (usually nothing). */
    void markFailed(String errorJson, BigDecimal billableUnits, BigDecimal cost, Instant now) {
        requireNotTerminal("fail");
        status = JobStatus.FAILED;
        error = errorJson;
        this.billableUnits = billableUnits;
        finish(cost, now);
    }

    /** The caller's cancel took effect: before fal had the request, or fal ended it without a video. */
    void markCancelled(BigDecimal cost, Instant now) {
        requireNotTerminal("cancel");
        status = JobStatus.CANCELLED;
        finish(cost, now);
    }

    // --- cancel -------------------------------------------------------------------------------

    /**
     * A caller asks to cancel. A job no submit has left for is cancelled at once and never reaches fal;
     * otherwise the request is noted and the job made due, so a worker asks fal to cancel as soon as it can.
     */
    void requestCancel(Instant now) {
        requireNotTerminal("cancel");
        if (status == JobStatus.QUEUED && submitStartedAt == null) {
            markCancelled(BigDecimal.ZERO, now);
            releaseLease(); // a worker holding it has nothing left to do; its next write finds the lease gone
            return;
        }
        if (cancelRequestedAt == null) {
            cancelRequestedAt = now;
        }
        nextAttemptAt = now;
        updatedAt = now;
    }

    boolean isCancelRequested() {
        return cancelRequestedAt != null;
    }

    // --- later bookings ------------------------------------------------------------------------

    /** fal billed for another of the job's requests after it ended: the cost follows the ledger. */
    void rebook(BigDecimal cost, Instant now) {
        if (!status.isTerminal()) {
            throw new IllegalStateException("job " + id + " is " + status.value() + "; its cost is booked when it ends");
        }
        costUsd = cost;
        updatedAt = now;
    }

    /** Make the job due at {@code due} (null: never again), e.g. when fal's webhook says it has news. */
    void dueAt(Instant due, Instant now) {
        if (due == null && !status.isTerminal()) {
            throw new IllegalStateException("job " + id + " is " + status.value() + " and must stay due");
        }
        nextAttemptAt = status.isTerminal() ? due : notAfterDeadline(due);
        updatedAt = now;
    }

    /** Whether the job is unfinished at or after its deadline: it must end now, whatever fal says. */
    boolean isPastDeadline(Instant now) {
        return !status.isTerminal() && deadlineAt != null && !now.isBefore(deadlineAt);
    }

    /** An unfinished job is never due later than its deadline, so the deadline is kept to the worker's tick. */
    private Instant notAfterDeadline(Instant due) {
        return deadlineAt != null && due != null && due.isAfter(deadlineAt) ? deadlineAt : due;
    }

    private void finish(BigDecimal cost, Instant now) {
        costUsd = cost;
        queuePosition = null;
        submitStartedAt = null;
        nextAttemptAt = null;
        if (startedAt == null && status == JobStatus.COMPLETED) {
            // fal went from queue to done between two looks
            startedAt = now;
        }
        completedAt = now;
        updatedAt = now;
    }

    // --- leases -------------------------------------------------------------------------------

    boolean isLeasedWith(UUID token) {
        return token != null && token.equals(leaseToken);
    }

    /** Whether {@code entry} is a request of this job still to be cancelled and settled, besides or after its own. */
    boolean leavesUnsettled(FalRequestEntry entry) {
        return entry.isUnsettledExtraOf(falRequestId, status.isTerminal());
    }

    void releaseLease() {
        leaseOwner = null;
        leaseToken = null;
        leaseExpiresAt = null;
    }

    private void requireNotTerminal(String action) {
        if (status.isTerminal()) {
            throw new IllegalStateException("job " + id + " is already " + status.value() + "; cannot " + action);
        }
    }

    private void requireStatus(JobStatus expected, String action) {
        if (status != expected) {
            throw new IllegalStateException("job " + id + " is " + status.value() + "; cannot " + action);
        }
    }

    private void requireAtFal(String action) {
        if (status != JobStatus.SUBMITTED && status != JobStatus.IN_PROGRESS) {
            throw new IllegalStateException("job " + id + " is " + status.value() + "; cannot " + action);
        }
    }

    private static String text(Object value) {
        return value == null ? null : value.toString();
    }

    FalRequest falRequest() {
        return falRequestId == null ? null : new FalRequest(falRequestId, uri(falStatusUrl), uri(falResponseUrl),
                uri(falCancelUrl));
    }

    private static java.net.URI uri(String text) {
        return text == null ? null : java.net.URI.create(text);
    }

    UUID id() { return id; }
    String client() { return client; }
    JobStatus status() { return status; }
    String endpointId() { return endpointId; }
    String input() { return input; }
    String metadata() { return metadata; }
    BigDecimal priceUsd() { return priceUsd; }
    BigDecimal costUsd() { return costUsd; }
    String falRequestId() { return falRequestId; }
    Integer queuePosition() { return queuePosition; }
    String result() { return result; }
    String videoUrl() { return videoUrl; }
    String error() { return error; }
    int attempts() { return attempts; }
    Instant nextAttemptAt() { return nextAttemptAt; }
    Instant submitStartedAt() { return submitStartedAt; }
    Instant createdAt() { return createdAt; }
    Instant submittedAt() { return submittedAt; }
    Instant startedAt() { return startedAt; }
    Instant completedAt() { return completedAt; }
    String idempotencyKey() { return idempotencyKey; }
    String requestHash() { return requestHash; }
    Instant cancelRequestedAt() { return cancelRequestedAt; }
    Instant refusedSince() { return refusedSince; }
    Instant deadlineAt() { return deadlineAt; }
    String callbackUrl() { return callbackUrl; }
    boolean isSandbox() { return sandbox; }
    String callbackFormat() { return callbackFormat; }
}
