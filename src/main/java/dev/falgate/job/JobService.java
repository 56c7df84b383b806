package dev.falgate.job;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

import dev.falgate.access.Caller;
import dev.falgate.access.Scope;
import dev.falgate.callback.Callbacks;
import dev.falgate.fal.FalAccount;
import dev.falgate.fal.FalClient;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import dev.falgate.web.StorableInstant;
import dev.falgate.web.Usd;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;

/** Accepting, reading and cancelling jobs with the caller's scopes and client applied, and fal's news of them. */
@Service
public class JobService {

    private static final Logger log = LoggerFactory.getLogger(JobService.class);
    private static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final int MAX_PAGE = 200;
    static final int DEFAULT_PAGE = 50;
    private static final List<String> HISTORY_PARAMETERS = List.of("status", "client", "created_from", "created_to",
            "limit", "cursor", "sandbox");

    private final JobRepository jobs;
    private final ExtendRequestValidator validator;
    private final PricingSettings pricing;
    private final JobWorker worker;
    private final JobMetrics metrics;
    private final TransactionTemplate tx;
    private final GroupCommit groupCommit;
    private final String endpointId;
    private final JsonMapper json;
    private final Clock clock;
    private final WorkerSettings workerSettings;
    private final FalAccount falAccount;
    private final FalNews falNews;
    private final JobWriter writer;

    JobService(JobRepository jobs, ExtendRequestValidator validator, PricingSettings pricing, JobWorker worker,
            JobMetrics metrics, TransactionTemplate tx,
            GroupCommit groupCommit, FalClient fal, JsonMapper json, Clock clock, WorkerSettings workerSettings,
            FalAccount falAccount, FalNews falNews, JobWriter writer) {
        this.writer = writer;
        this.falAccount = falAccount;
        this.falNews = falNews;
        this.workerSettings = workerSettings;
        this.groupCommit = groupCommit;
        this.metrics = metrics;
        this.jobs = jobs;
        this.validator = validator;
        this.pricing = pricing;
        this.worker = worker;
        this.tx = tx;
        this.endpointId = fal.endpointId();
        this.json = json;
        this.clock = clock;
        pricing.priceOf(endpointId); // no price configured: refuse to start rather than charge nothing
    }

    /** A submitted job, and whether it is an earlier one replayed for the same Idempotency-Key. */
    record Submission(Job job, boolean replayed) {
    }

    /**
     * Validates the body and stores the job as {@code queued}; the worker takes it from there. With an
     * Idempotency-Key (Stripe's semantics, scoped to the client) the same key and body return the job made
     * first, another body is refused, and the unique index decides between concurrent first uses.
     */
    Submission accept(Caller caller, JsonNode body, String idempotencyKey) {
        return accept(caller, body, idempotencyKey, Callbacks.STANDARD_FORMAT);
    }

    /** As {@link #accept(Caller, JsonNode, String)}, its callback (if any) delivered in {@code callbackFormat}. */
    Submission accept(Caller caller, JsonNode body, String idempotencyKey, String callbackFormat) {
        return accept(caller, body, idempotencyKey, callbackFormat, false);
    }

    /**
     * How long the same body from the same client, without an Idempotency-Key, counts as a retry when
     * {@code retriesRepeat}: fal's clients submit again on their own after a transport error (fal-protocol.md).
     */
    static final java.time.Duration RETRY_WINDOW = java.time.Duration.ofSeconds(10);

    /**
     * As above; with {@code retriesRepeat} (fal's protocol), a submit without an Idempotency-Key whose body the client
     * sent within {@link #RETRY_WINDOW} is that submit's retry, answered with its job, never a second paid one.
     */
    Submission accept(Caller caller, JsonNode body, String idempotencyKey, String callbackFormat,
            boolean retriesRepeat) {
        String key = checkedIdempotencyKey(idempotencyKey);
        if (key != null && caller.sandbox()) {
            // a sandbox key's keys are its own: a real key with the same Idempotency-Key never replays a sandbox
            // job (nor the other way round); a line break can't be part of a caller's key
            key = "sandbox\n" + key;
        }
        ExtendRequestValidator.ValidRequest request = validator.validate(body);
        String hash = key == null && !retriesRepeat ? null : canonicalHash(body);
        if (key == null && retriesRepeat) {
            var retried = jobs.findFirstByClientAndRequestHashAndSandboxAndCreatedAtAfterAndIdempotencyKeyIsNullOrderByCreatedAtDesc(
                    caller.client(), hash, caller.sandbox(), clock.instant().minus(RETRY_WINDOW));
            if (retried.isPresent()) {
                log.info("Job {}: the same body again from client {} within {}: taken as a retry", retried.get().id(),
                        caller.client(), RETRY_WINDOW);
                return new Submission(retried.get(), true);
            }
        }
        if (key != null) {
            var earlier = jobs.findByClientAndIdempotencyKey(caller.client(), key);
            if (earlier.isPresent()) {
                return replay(earlier.get(), hash);
            }
        }
        // a sandbox key's job never reaches fal and costs nothing
        BigDecimal price = caller.sandbox() ? new BigDecimal("0.00") : pricing.priceOf(endpointId);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Job job = Job.accept(caller.client(), endpointId, json.writeValueAsString(request.input()),
                request.metadata() == null ? null : json.writeValueAsString(request.metadata()), price, key, hash,
                now, now.plus(workerSettings.jobMaxAge()), request.callbackUrl(), callbackFormat, caller.sandbox());
        GroupCommit.Outcome outcome;
        try {
            outcome = groupCommit.insert(job);
        } catch (ApiException e) {
            // Over budget, unless a concurrent request with the same key got in first: then this is its replay.
            var earlier = key == null ? Optional.<Job>empty() : jobs.findByClientAndIdempotencyKey(caller.client(), key);
            if (earlier.isPresent()) {
                return replay(earlier.get(), hash);
            }
            throw e;
        }
        if (outcome == GroupCommit.Outcome.KEY_TAKEN) {
            // A concurrent request with the same key was first: this one is its replay.
            return replay(jobs.findByClientAndIdempotencyKey(caller.client(), key).orElseThrow(), hash);
        }
        metrics.entered(job);
        log.info("Job {}: accepted for client {} -> queued (price {} USD)", job.id(), job.client(),
                Usd.format(price));
        worker.wake();
        return new Submission(job, false);
    }

    /** The job if the caller may see it; another client's job is "not found", never "forbidden". */
    @Transactional(readOnly = true)
    Job find(Caller caller, String id) {
        return jobs.findById(parse(id))
                .filter(job -> caller.readsEveryClient() || job.client().equals(caller.client()))
                .filter(job -> reachable(caller, job))
                .orElseThrow(() -> notFound(id));
    }

    /**
     * A sandbox key (often handed to developers and CI) reaches only sandbox jobs, unless it is an admin key: it can
     * neither read nor cancel its client's real jobs.
     */
    private static boolean reachable(Caller caller, Job job) {
        return !caller.sandbox() || job.isSandbox() || caller.has(Scope.ADMIN);
    }

    /** The job if the caller may act on it as its owner (or as an admin), as cancelling and redelivering need. */
    @Transactional(readOnly = true)
    Job findOwned(Caller caller, String id) {
        return jobs.findById(parse(id))
                .filter(job -> caller.has(Scope.ADMIN) || job.client().equals(caller.client()))
                .filter(job -> reachable(caller, job))
                .orElseThrow(() -> notFound(id));
    }

    /** The job a verified signed URL names: the signature, made by falgate for this job's path, is the permission. */
    @Transactional(readOnly = true)
    Job findSigned(String id) {
        return jobs.findById(parse(id)).orElseThrow(() -> notFound(id));
    }

    /**
     * Cancels a job: at once when no submit has left for it (it never reaches fal), otherwise by asking fal,
     * which stops a request still in its queue; one already running may still complete and is then charged.
     */
    Job cancel(Caller caller, String id) {
        Job job = tx.execute(status -> {
            Job found = jobs.findForUpdate(parse(id))
                    .filter(candidate -> caller.has(Scope.ADMIN) || candidate.client().equals(caller.client()))
                    .filter(candidate -> reachable(caller, candidate))
                    .orElseThrow(() -> notFound(id));
            if (found.status().isTerminal()) {
                throw new ApiException(HttpStatus.CONFLICT, "conflict",
                        "Job " + id + " is already " + found.status().value() + "; there is nothing to cancel.");
            }
            JobStatus before = found.status();
            found.requestCancel(clock.instant().truncatedTo(ChronoUnit.MICROS));
            log.info("Job {}: cancel requested by client {}", found.id(), caller.client());
            writer.recordTransition(found, before); // cancelled at once: booked like any other end
            return found;
        });
        worker.wake();
        return job;
    }

    /**
     * fal's (verified) webhook names a request it holds for the job. Unknown jobs are ignored (answered all
     * the same, so fal stops retrying); the request is booked, adopted or cancelled as the job needs, and the
     * job is worked on at once in this (fal's) request, so a finished video is visible when fal's delivery is
     * answered. That round's fal calls may outlast fal's 15 s delivery timeout; fal then delivers again, which
     * changes nothing.
     */
    public void falReported(UUID jobId, String requestId, String userId, boolean succeeded) {
        switch (falNews.take(jobId, requestId, succeeded)) {
            case TAKEN_FOR_OWN_REQUEST -> falAccount.learnFrom(userId);
            case TAKEN -> { }
            case UNKNOWN_JOB -> log.warn("fal webhook for unknown job {} (request {}); ignored", jobId, requestId);
            case NOT_OURS -> log.warn("fal webhook for job {} names request {}, which fal does not know for our key "
                    + "(another account's); ignored", jobId, requestId);
            case UNCONFIRMED -> throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "fal_unconfirmed",
                    "fal could not confirm request " + requestId + " to our key yet; deliver it again later.");
        }
    }

    /**
     * The history filter from the query string, every bad parameter named at once. {@code ops:read} sees every
     * client; {@code jobs:read} only its own (naming another client is refused).
     */
    JobHistory.Filter historyFilter(Caller caller, Map<String, String> query) {
        List<FieldProblem> errors = new ArrayList<>();
        for (String name : query.keySet()) {
            if (!HISTORY_PARAMETERS.contains(name)) {
                errors.add(new FieldProblem(name, "is not a known parameter; use " + String.join(", ", HISTORY_PARAMETERS)));
            }
        }
        JobStatus status = null;
        if (query.containsKey("status")) {
            status = Arrays.stream(JobStatus.values()).filter(s -> s.value().equals(query.get("status"))).findFirst()
                    .orElse(null);
            if (status == null) {
                errors.add(new FieldProblem("status", "must be one of queued, submitted, in_progress, completed, "
                        + "failed, cancelled"));
            }
        }
        String client = query.get("client");
        if (!caller.readsEveryClient()) {
            if (client != null && !client.equals(caller.client())) {
                throw new ApiException(HttpStatus.FORBIDDEN, "forbidden",
                        "This API key reads only its own client's jobs; listing another client needs 'ops:read'.");
            }
            client = caller.client();
        }
        Instant from = instantParameter(query, "created_from", errors);
        Instant to = instantParameter(query, "created_to", errors);
        JobHistory.Cursor cursor = null;
        if (query.containsKey("cursor")) {
            try {
                cursor = JobHistory.Cursor.decode(query.get("cursor"));
            } catch (ApiException e) {
                errors.addAll(e.errors());
            }
        }
        Integer limit = limitParameter(query, errors);
        boolean sandbox = caller.sandbox(); // a sandbox key's history is its sandbox jobs
        if (query.containsKey("sandbox") && caller.sandbox() && !caller.has(Scope.ADMIN)
                && !query.get("sandbox").equals("true")) {
            throw new ApiException(HttpStatus.FORBIDDEN, "forbidden", "A sandbox key lists only sandbox jobs.");
        }
        if (query.containsKey("sandbox")) {
            if (query.get("sandbox").equals("true") || query.get("sandbox").equals("false")) {
                sandbox = Boolean.parseBoolean(query.get("sandbox"));
            } else {
                errors.add(new FieldProblem("sandbox", "must be true or false"));
            }
        }
        if (!errors.isEmpty()) {
            throw ApiException.validationFailed(errors);
        }
        return new JobHistory.Filter(status, client, from, to, cursor, limit, sandbox);
    }

    /** {@code limit}: 1..200, or null when absent (a page then has 50, a CSV every matching row). */
    private static Integer limitParameter(Map<String, String> query, List<FieldProblem> errors) {
        String text = query.get("limit");
        if (text == null) {
            return null;
        }
        try {
            int limit = Integer.parseInt(text);
            if (limit >= 1 && limit <= MAX_PAGE) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        errors.add(new FieldProblem("limit", "must be an integer from 1 to " + MAX_PAGE));
        return null;
    }

    private static Instant instantParameter(Map<String, String> query, String name, List<FieldProblem> errors) {
        String text = query.get(name);
        if (text == null) {
            return null;
        }
        try {
            Instant instant = OffsetDateTime.parse(text).toInstant();
            if (StorableInstant.holds(instant)) {
                return instant;
            }
            errors.add(new FieldProblem(name, StorableInstant.RANGE));
        } catch (DateTimeParseException e) {
            errors.add(new FieldProblem(name, "must be an RFC 3339 timestamp such as 2026-11-23T10:15:30Z"));
        }
        return null;
    }

    private Submission replay(Job earlier, String hash) {
        if (!earlier.requestHash().equals(hash)) {
            throw new ApiException(HttpStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request body.",
                    List.of(new FieldProblem(IDEMPOTENCY_KEY, "was used before with a different body")));
        }
        return new Submission(earlier, true);
    }

    private static String checkedIdempotencyKey(String key) {
        if (key == null) {
            return null;
        }
        boolean printable = key.chars().allMatch(c -> c >= 0x20 && c <= 0x7e);
        if (key.isEmpty() || key.length() > 255 || !printable) {
            throw ApiException.validationFailed(List.of(new FieldProblem(IDEMPOTENCY_KEY,
                    "must be 1 to 255 printable ASCII characters")));
        }
        return key;
    }

    /** The body with its fields sorted at every level: the same request written in another order is the same. */
    private String canonicalHash(JsonNode body) {
        byte[] canonical = json.writer().with(JsonNodeFeature.WRITE_PROPERTIES_SORTED).writeValueAsString(body)
                .getBytes(StandardCharsets.UTF_8);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private static UUID parse(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw notFound(id);
        }
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("No job " + id + ".");
    }
}
