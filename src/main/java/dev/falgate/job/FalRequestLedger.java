package dev.falgate.job;

import java.util.List;
import java.util.UUID;

import org.springframework.data.repository.ListCrudRepository;

interface FalRequestLedger extends ListCrudRepository<FalRequestEntry, String> {

    List<FalRequestEntry> findByJobId(UUID jobId);

    List<FalRequestEntry> findByJobIdAndStatus(UUID jobId, String status);
}
