package dev.falgate.job;

import java.time.Duration;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How jobs are driven through fal's queue.
 *
 * @param enabled          whether this instance runs the background worker (default true)
 * @param concurrency      jobs one instance works on at once in the background (default 16); also the most
 *                         webhook deliveries that work on their job at once in their own request
 * @param idleDelay        pause between claims when nothing was due (default 200ms)
 * @param lease            how long a claimed job stays ours; longer than any single fal call (default 2m)
 * @param pollInterval     how often a job at fal is polled ({@code FALGATE_FAL_POLL_INTERVAL}, default 2s)
 * @param pollIntervalCap  the longest pause between polls of a long-running job (default 30s)
 * @param webhookPollInterval how often a job at fal is polled while fal's webhooks are on ({@code FALGATE_PUBLIC_URL}
 *                         set): polling is then only the fallback for a webhook that never comes (default 60s)
 * @param retryBase        first backoff after fal created nothing (5xx, 429, no connection; default 2s)
 * @param retryCap         the longest backoff between submit retries (default 5m)
 * @param refusedRetry     the pause after fal refused our key or account (401/403), an operator problem (default 1m)
 * @param refusedMaxWait   how long a job waits for fal to accept our key or account again before it fails with
 *                         {@code fal_unavailable}, uncharged (default 12h, within the job's 24 h deadline)
 * @param unknownSubmitGrace how long a job whose submit answer was lost waits before it is submitted again
 *                         ({@code FALGATE_SUBMIT_UNKNOWN_GRACE}, default 10m)
 * @param lostRequestAfter how long fal may answer 404 for a job's request before the job fails as
 *                         {@code fal_request_lost}, uncharged: fal cannot bill what it does not know (default 1h)
 * @param jobMaxAge       how long a job may take from acceptance to its end ({@code FALGATE_JOB_MAX_AGE}, default 24h):
 *                         at {@code deadline_at} an unfinished job fails {@code deadline_exceeded}, charged what fal billed
 * @param lostSubmitSearchInterval how often a job whose submit answer was lost searches fal's request listing for
 *                         its request (default 30s); also the pause after the listing could not answer
 * @param settleMaxAttempts how many times an extra fal request (or the request of a job ended by its deadline) is
 *                         looked at before it is booked {@code unsettled} at 0.00 and left to ops (default 50)
 * @param stuckAfter      health {@code worker} is DOWN when this instance's loop has claimed nothing for this long while
 *                         jobs are due (it died, or every thread is stuck) (default 1m)
 * @param shutdownGrace    how long a stopping instance waits for its fal calls under way before it gives
 *                         back its leases anyway (default 30s)
 */
@Validated
@ConfigurationProperties("falgate.worker")
record WorkerSettings(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("16") @Min(1) @Max(256) int concurrency,
        @DefaultValue("200ms") @NotNull Duration idleDelay,
        @DefaultValue("2m") @NotNull Duration lease,
        @DefaultValue("2s") @NotNull Duration pollInterval,
        @DefaultValue("30s") @NotNull Duration pollIntervalCap,
        @DefaultValue("60s") @NotNull Duration webhookPollInterval,
        @DefaultValue("2s") @NotNull Duration retryBase,
        @DefaultValue("5m") @NotNull Duration retryCap,
        @DefaultValue("1m") @NotNull Duration refusedRetry,
        @DefaultValue("12h") @NotNull Duration refusedMaxWait,
        @DefaultValue("10m") @NotNull Duration unknownSubmitGrace,
        @DefaultValue("1h") @NotNull Duration lostRequestAfter,
        @DefaultValue("30s") @NotNull Duration shutdownGrace,
        @DefaultValue("24h") @NotNull Duration jobMaxAge,
        @DefaultValue("30s") @NotNull Duration lostSubmitSearchInterval,
        @DefaultValue("50") @Min(1) int settleMaxAttempts,
        @DefaultValue("1m") @NotNull Duration stuckAfter) {
}
