package dev.falgate.job;

import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.ListCrudRepository;

interface FalRequestLedger extends ListCrudRepository<FalRequestEntry, String> {

    List<FalRequestEntry> findByJobId(UUID jobId);

    List<FalRequestEntry> findByJobIdAndStatus(UUID jobId, String status);

    /** Whether fal holds an unsettled request for the job besides the job's own one. */
    @Query("select count(e) > 0 from FalRequestEntry e where e.jobId = :jobId and e.status = 'active' "
            + "and (:primary is null or e.requestId <> :primary)")
    boolean existsActiveExtra(UUID jobId, String primary);
}
