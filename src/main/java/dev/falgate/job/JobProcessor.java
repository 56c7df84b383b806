package dev.falgate.job;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * One round of work on one claimed job: end it at its deadline, submit it ({@link SubmitRound}) or follow it at
 * fal ({@link FollowRound}), then settle any extra fal request of it ({@link ExtraRequests}), then give the lease
 * back. Each fal call happens outside a transaction; every write goes through {@link JobWriter}, which locks
 * the row and checks the lease first, so a worker that lost its lease writes nothing.
 */
@Component
class JobProcessor {

    private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

    private final JobWriter writer;
    private final SubmitRound submit;
    private final FollowRound follow;
    private final ExtraRequests extras;
    private final FalClients clients;

    JobProcessor(JobWriter writer, SubmitRound submit, FollowRound follow, ExtraRequests extras, FalClients clients) {
        this.clients = clients;
        this.writer = writer;
        this.submit = submit;
        this.follow = follow;
        this.extras = extras;
    }

    /**
     * One claimed job's round. Its last write also gives the lease back, so a poll costs one read, one fal call
     * and one write; only a round that found an extra fal request, or failed, needs more.
     */
    void process(JobClaims.Claim claim) {
        process(claim, null);
    }

    /**
     * A claimed job's round.
     *
     * @param succeededRequestId a request fal's signed webhook reported as completed successfully, or null: if it
     *        is the job's request, the status call is skipped (only its inference time is then not recorded)
     */
    void process(JobClaims.Claim claim, String succeededRequestId) {
        Round round = new Round(claim);
        Job job = writer.start(round);
        if (job == null || !job.isLeasedWith(claim.token())) {
            return;
        }
        round.fal = clients.of(job);
        try {
            if (job.isPastDeadline(writer.now())) {
                follow.endAtDeadline(job, round);
            } else if (job.status() == JobStatus.QUEUED) {
                submit.run(job, round);
            } else if (!job.status().isTerminal()) {
                follow.run(job, round, succeededRequestId);
            }
            if (!round.released) {
                extras.settle(round);
            }
        } catch (RuntimeException e) {
            round.failed = true;
            log.error("Job {}: unexpected failure while {}; trying again later", job.id(), job.status().value(), e);
        } finally {
            if (!round.released) {
                writer.end(round);
            }
        }
    }
}
