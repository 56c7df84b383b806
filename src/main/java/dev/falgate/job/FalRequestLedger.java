package dev.falgate.job;

import java.math.BigDecimal;
import java.util.List;
import java.util.UUID;

import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.ListCrudRepository;

interface FalRequestLedger extends ListCrudRepository<FalRequestEntry, String> {

    List<FalRequestEntry> findByJobId(UUID jobId);

    List<FalRequestEntry> findByJobIdAndStatus(UUID jobId, String status);

    /** What fal billed for the job, over every request it created for it. */
    @Query("select coalesce(sum(e.costUsd), 0) from FalRequestEntry e where e.jobId = :jobId")
    BigDecimal costOf(UUID jobId);
}
