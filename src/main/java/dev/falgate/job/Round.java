package dev.falgate.job;

import java.util.List;

import dev.falgate.fal.FalClient;
import dev.falgate.ledger.FalRequestEntry;

/** One round of work on one claimed job: its lease, and what the round's writes found out along the way. */
final class Round {

    final JobClaims.Claim claim;
    /** The lease was given back (or lost to another holder): this round writes nothing more. */
    boolean released;
    /** The round failed unexpectedly: the job is looked at again after a pause. */
    boolean failed;
    /** The round's first read already recorded that a submit is leaving (see {@link JobWriter#start}). */
    boolean submitBegun;
    /** The job's ledger as read in the current write, under the job's row lock; null until that write needs it. */
    List<FalRequestEntry> ledger;
    /** Where the job's requests live: fal, or for a sandbox job the built-in simulator (set once the job is read). */
    FalClient fal;

    Round(JobClaims.Claim claim) {
        this.claim = claim;
    }
}
