package dev.falgate.job;

import java.util.Optional;
import java.util.UUID;

import jakarta.persistence.LockModeType;

import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Query;

interface JobRepository extends JpaRepository<Job, UUID> {

    /** The row locked for the rest of the transaction, so a lease check and the write after it are atomic. */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @Query("select j from Job j where j.id = :id")
    Optional<Job> findForUpdate(UUID id);

    Optional<Job> findByClientAndIdempotencyKey(String client, String idempotencyKey);

    /** The latest job of the client with this body, made since {@code since} without an Idempotency-Key. */
    Optional<Job> findFirstByClientAndRequestHashAndSandboxAndCreatedAtAfterAndIdempotencyKeyIsNullOrderByCreatedAtDesc(
            String client, String requestHash, boolean sandbox, java.time.Instant since);
}
