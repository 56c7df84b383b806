package dev.falgate.job;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import dev.falgate.access.Caller;
import dev.falgate.access.Scope;
import dev.falgate.fal.FalClient;
import dev.falgate.web.ApiException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Accepting extend requests and reading jobs back, with the caller's scopes and client applied. */
@Service
public class JobService {

    private static final Logger log = LoggerFactory.getLogger(JobService.class);

    private final JobRepository jobs;
    private final ExtendRequestValidator validator;
    private final PricingSettings pricing;
    private final String endpointId;
    private final JsonMapper json;
    private final Clock clock;

    JobService(JobRepository jobs, ExtendRequestValidator validator, PricingSettings pricing, FalClient fal,
            JsonMapper json, Clock clock) {
        this.jobs = jobs;
        this.validator = validator;
        this.pricing = pricing;
        this.endpointId = fal.endpointId();
        this.json = json;
        this.clock = clock;
        pricing.priceOf(endpointId); // no price configured: refuse to start rather than charge nothing
    }

    /** Validates the body and stores the job as {@code queued}; the worker takes it from there. */
    @Transactional
    Job accept(Caller caller, JsonNode body) {
        caller.require(Scope.JOBS_CREATE);
        ExtendRequestValidator.ValidRequest request = validator.validate(body);
        BigDecimal price = pricing.priceOf(endpointId);
        Job job = jobs.save(Job.accept(caller.client(), endpointId, json.writeValueAsString(request.input()),
                request.metadata() == null ? null : json.writeValueAsString(request.metadata()), price,
                clock.instant().truncatedTo(ChronoUnit.MICROS)));
        log.info("Job {}: accepted for client {} -> queued (price {} USD)", job.id(), job.client(),
                price.toPlainString());
        return job;
    }

    /** The job if the caller may see it; another client's job is "not found", never "forbidden". */
    @Transactional(readOnly = true)
    Job find(Caller caller, String id) {
        if (!caller.readsEveryClient()) {
            caller.require(Scope.JOBS_READ);
        }
        UUID jobId = parse(id);
        return jobs.findById(jobId)
                .filter(job -> caller.readsEveryClient() || job.client().equals(caller.client()))
                .orElseThrow(() -> ApiException.notFound("No job " + id + "."));
    }

    private static UUID parse(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("No job " + id + ".");
        }
    }
}
