package dev.falgate.ledger;

import java.util.List;
import java.util.UUID;

import org.springframework.data.repository.ListCrudRepository;

/** The ledger's lines: every request fal created for a job (see {@link FalRequestEntry}). */
public interface FalRequestLedger extends ListCrudRepository<FalRequestEntry, String> {

    List<FalRequestEntry> findByJobId(UUID jobId);

    List<FalRequestEntry> findByJobIdAndStatus(UUID jobId, String status);
}
