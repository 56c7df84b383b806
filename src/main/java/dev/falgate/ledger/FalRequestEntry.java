package dev.falgate.ledger;

import java.math.BigDecimal;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;


import dev.falgate.fal.FalRequest;

/**
 * One request fal created for a job: a line of the ledger. A job's cost is the sum of its entries, so a
 * duplicate request that fal did bill is booked too: the books follow fal's bill, not our wishes.
 */
@Entity
@Table(name = "fal_request")
public class FalRequestEntry extends StoredOnce<String> {

    public static final String ACTIVE = "active";

    @Id
    private String requestId;
    private UUID jobId;
    private String learnedVia;
    private String status;
    private String statusUrl;
    private String responseUrl;
    private String cancelUrl;
    private Instant cancelRequestedAt;
    private BigDecimal billableUnits;
    private BigDecimal costUsd;
    private Instant createdAt;
    private Instant settledAt;
    private int settleAttempts;

    protected FalRequestEntry() {
        // for JPA
    }

    /** A request we just learned of, from the submit's answer ({@code submit}) or fal's webhook ({@code webhook}). */
    public static FalRequestEntry learned(FalRequest request, UUID jobId, String via, Instant now) {
        FalRequestEntry entry = new FalRequestEntry();
        entry.requestId = request.requestId();
        entry.jobId = jobId;
        entry.learnedVia = via;
        entry.status = ACTIVE;
        entry.statusUrl = text(request.statusUrl());
        entry.responseUrl = text(request.responseUrl());
        entry.cancelUrl = text(request.cancelUrl());
        entry.createdAt = now;
        return entry;
    }

    /** A job's cost: what fal billed over all of its requests, as booked in the ledger. */
    public static BigDecimal costOf(List<FalRequestEntry> requestsOfTheJob) {
        return requestsOfTheJob.stream().map(FalRequestEntry::costUsd).filter(Objects::nonNull)
                .reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    /**
     * Books the request's outcome: {@code completed} costs the job's price; {@code failed} and {@code cancelled}
     * cost nothing unless fal reports billable units for them anyway.
     */
    public void settle(String outcome, BigDecimal billable, BigDecimal price, Instant now) {
        if (!isActive()) {
            return; // settled by an earlier delivery or round: the first outcome stands
        }
        boolean billed = outcome.equals("completed") || (billable != null && billable.signum() > 0);
        // 'unsettled': fal never told; booked at nothing and flagged (fal_request.status) for reconciliation
        status = outcome;
        billableUnits = billable;
        costUsd = billed ? price : BigDecimal.ZERO;
        settledAt = now;
    }

    public void markCancelRequested(Instant now) {
        if (cancelRequestedAt == null) {
            cancelRequestedAt = now;
        }
    }

    public boolean isActive() {
        return ACTIVE.equals(status);
    }

    /**
     * An extra: a request fal still runs for the job besides the job's own, or the job's own after the job ended
     * without it (its deadline), to be cancelled and booked as fal bills it.
     */
    public boolean isUnsettledExtraOf(String jobsOwnRequestId, boolean jobEnded) {
        return isActive() && (!requestId.equals(jobsOwnRequestId) || jobEnded);
    }

    /** One more look at an unsettled request that told nothing; the looks are bounded (see WorkerSettings). */
    public void countSettleAttempt() {
        settleAttempts++;
    }

    public int settleAttempts() {
        return settleAttempts;
    }

    public FalRequest falRequest() {
        return new FalRequest(requestId, uri(statusUrl), uri(responseUrl), uri(cancelUrl));
    }

    @Override
    public String getId() {
        return requestId;
    }


    public String requestId() { return requestId; }
    public UUID jobId() { return jobId; }
    public String learnedVia() { return learnedVia; }
    public String status() { return status; }
    public Instant cancelRequestedAt() { return cancelRequestedAt; }
    public BigDecimal costUsd() { return costUsd; }

    private static String text(URI uri) {
        return uri == null ? null : uri.toString();
    }

    private static URI uri(String text) {
        return text == null ? null : URI.create(text);
    }
}
