package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Instant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import dev.falgate.fal.FalRequest;
import dev.falgate.fal.ResultOutcome;
import dev.falgate.fal.StatusOutcome;
import dev.falgate.ledger.FalRequestEntry;
import dev.falgate.ledger.FalRequestLedger;

/**
 * Requests fal holds for a job besides its own (a lost submit that surfaced after the job was sent again), and
 * the job's own request after its deadline ended it: asked to cancel, followed to their end in a bounded number
 * of looks, and booked as fal bills them, rebooking the ended job's cost.
 */
@Component
class ExtraRequests {

    private static final Logger log = LoggerFactory.getLogger(ExtraRequests.class);

    private final JobWriter writer;
    private final FollowRound follow;
    private final JobRepository jobs;
    private final FalRequestLedger ledger;
    private final JobMetrics metrics;
    private final WorkerSettings settings;

    ExtraRequests(JobWriter writer, FollowRound follow, JobRepository jobs, FalRequestLedger ledger,
            JobMetrics metrics, WorkerSettings settings) {
        this.writer = writer;
        this.follow = follow;
        this.jobs = jobs;
        this.ledger = ledger;
        this.metrics = metrics;
        this.settings = settings;
    }

    /**
     * Any request fal holds for the job besides the job's own (a lost submit answer that surfaced after the
     * job was submitted again) is cancelled, followed to its end, and booked as fal bills it.
     */
    void settle(Round round) {
        Job job = jobs.findById(round.claim.jobId()).orElseThrow();
        for (FalRequestEntry extra : ledger.findByJobIdAndStatus(job.id(), FalRequestEntry.ACTIVE)) {
            if (!job.leavesUnsettled(extra)) {
                continue;
            }
            FalRequest request = extra.falRequest();
            String requestId = request.requestId();
            if (extra.settleAttempts() >= settings.settleMaxAttempts()) {
                // fal never told us how it ended: stop asking, book nothing, and say so loudly for reconciliation
                log.error("Job {}: fal request {} did not settle in {} looks; booked unsettled at 0.00, check it "
                        + "against fal's invoice", job.id(), requestId, extra.settleAttempts());
                Instant now = writer.now();
                writer.keepingLease(round, "give up settling a fal request", j -> writer.settle(round, j, requestId, "unsettled", null, now));
                metrics.unsettled();
                continue;
            }
            if (extra.cancelRequestedAt() == null) {
                follow.askFalToCancel(round, request);
            }
            StatusOutcome status = round.fal.status(request);
            ResultOutcome result = status instanceof StatusOutcome.Completed ? round.fal.result(request) : null;
            if (result == null || result instanceof ResultOutcome.Unavailable) {
                writer.keepingLease(round, "count a look at a fal request",
                        j -> writer.entryOf(round, requestId).countSettleAttempt());
                continue;
            }
            StatusOutcome.Completed completed = (StatusOutcome.Completed) status;
            BigDecimal billable = FollowRound.billableUnitsOf(result);
            String outcome = completed.succeeded() && result instanceof ResultOutcome.Output ? "completed" : "cancelled";
            Instant now = writer.now();
            writer.keepingLease(round, "settle an extra fal request", j -> {
                writer.settle(round, j, requestId, outcome, billable, now);
                if (j.status().isTerminal()) {
                    writer.rebook(round, j, now);
                }
            });
            log.warn("Job {}: extra fal request {} ended {}; booked as fal bills it", job.id(), requestId, outcome);
        }
    }

}
