package dev.falgate.facade;

import java.net.URI;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

import dev.falgate.job.JobResource;
import dev.falgate.job.JobStatus;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * falgate's jobs in fal's queue shapes (fal-protocol.md; what {@code @fal-ai/client} parses): the submit answer, the
 * status (IN_QUEUE, IN_PROGRESS, COMPLETED; a failed or cancelled job is COMPLETED with {@code error}, since fal's
 * clients poll until COMPLETED), the result (fal's output, the video served from falgate's archive once stored), and
 * validation faults as fal's 422 {@code detail} list, so the clients raise their own {@code ValidationError}.
 */
@Component
class FalAnswers {

    /** fal's model endpoint and its app, whose {@code requests/…} routes follow a request. */
    static final String ENDPOINT = "fal-ai/ltx-video-v097/extend";
    static final String APP = "fal-ai/ltx-video-v097";
    static final String REQUEST_ID_HEADER = "x-fal-request-id";

    private final JsonMapper json;

    FalAnswers(JsonMapper json) {
        this.json = json;
    }

    /** Where a request's status, result and cancel live, under {@code base} (falgate as the caller reaches it). */
    private ObjectNode urls(ObjectNode answer, URI base, JobResource job) {
        String request = base.toString().replaceAll("/+$", "") + "/" + APP + "/requests/" + job.id();
        return answer.put("request_id", job.id().toString()).put("response_url", request)
                .put("status_url", request + "/status").put("cancel_url", request + "/cancel");
    }

    ResponseEntity<String> submitted(URI base, JobResource job) {
        ObjectNode answer = json.createObjectNode().put("status", "IN_QUEUE");
        urls(answer, base, job).put("queue_position", job.queuePosition() == null ? 0 : job.queuePosition());
        return ok(HttpStatus.OK, job, answer);
    }

    /** The status body alone (also each event of the status stream). */
    ObjectNode status(URI base, JobResource job, boolean logs) {
        ObjectNode answer = json.createObjectNode();
        switch (job.status()) {
            case QUEUED, SUBMITTED -> {
                answer.put("status", "IN_QUEUE");
                urls(answer, base, job).put("queue_position", job.queuePosition() == null ? 0 : job.queuePosition());
            }
            case IN_PROGRESS -> urls(answer.put("status", "IN_PROGRESS"), base, job);
            default -> {
                urls(answer.put("status", "COMPLETED"), base, job);
                answer.putObject("metrics").putNull("inference_time"); // fal's figure stays in falgate's own records
                if (job.status() != JobStatus.COMPLETED) {
                    JsonNode error = errorOf(job);
                    answer.put("error", error.path("message").asString(job.status() == JobStatus.CANCELLED
                            ? "Request was cancelled" : "The request did not complete"));
                    answer.put("error_type", error.path("fal_error_type").isString()
                            ? error.path("fal_error_type").asString() : error.path("code").asString(job.status().value()));
                }
            }
        }
        if (logs) {
            answer.putArray("logs");
        } else {
            answer.putNull("logs");
        }
        return answer;
    }

    ResponseEntity<String> statusAnswer(URI base, JobResource job, boolean logs) {
        return ok(job.status().isTerminal() ? HttpStatus.OK : HttpStatus.ACCEPTED, job, status(base, job, logs));
    }

    /**
     * The result as fal answers it: fal's output for a completed job (its video's {@code url} falgate's signed archive
     * URL once the copy is stored), fal's own error status and body for a failed one, 400 before the end.
     */
    ResponseEntity<String> result(URI base, JobResource job) {
        if (!job.status().isTerminal()) {
            return ok(HttpStatus.BAD_REQUEST, job, json.createObjectNode().put("detail", "Request is still in progress"));
        }
        if (job.status() == JobStatus.CANCELLED) {
            return ok(HttpStatus.BAD_REQUEST, job, json.createObjectNode().put("detail", "Request was cancelled"));
        }
        if (job.status() == JobStatus.FAILED) {
            JsonNode error = errorOf(job);
            ObjectNode body = json.createObjectNode();
            JsonNode detail = error.path("fal_detail");
            body.set("detail", detail.isMissingNode() || detail.isNull()
                    ? json.getNodeFactory().stringNode(error.path("message").asString("the request failed")) : detail);
            int status = error.path("fal_status").canConvertToInt() ? error.path("fal_status").asInt() : 500;
            return ok(HttpStatus.valueOf(status >= 400 && status < 600 ? status : 500), job, body);
        }
        ObjectNode output = (ObjectNode) json.readTree(job.result());
        if (output.path("video") instanceof ObjectNode video) {
            JsonNode archive = video.remove("archive");
            if (archive != null && archive.path("signed_url").isString()) {
                video.put("url", base.toString().replaceAll("/+$", "") + archive.path("signed_url").asString());
            }
        }
        return ok(HttpStatus.OK, job, output);
    }

    ResponseEntity<String> cancelled(JobResource job) {
        return ok(HttpStatus.ACCEPTED, job, json.createObjectNode().put("status", "CANCELLATION_REQUESTED"));
    }

    ResponseEntity<String> alreadyCompleted() {
        return plain(HttpStatus.BAD_REQUEST, json.createObjectNode().put("status", "ALREADY_COMPLETED"));
    }

    ResponseEntity<String> notFound() {
        return plain(HttpStatus.NOT_FOUND, json.createObjectNode().put("detail", "Request not found"));
    }

    /** falgate's validation faults as fal's 422: every fault, each at its {@code loc} in fal's input (the body). */
    ResponseEntity<String> invalid(ApiException e) {
        ArrayNode detail = json.createArrayNode();
        for (FieldProblem problem : e.errors()) {
            ObjectNode fault = detail.addObject();
            ArrayNode loc = fault.putArray("loc");
            if (problem.field().equals("Idempotency-Key")) {
                loc.add("header").add("Idempotency-Key");
            } else if (problem.field().equals("callback_url")) {
                loc.add("query").add("fal_webhook");
            } else {
                loc.add("body");
                String path = problem.field().replaceFirst("^(input|body)\\.?", "");
                for (String part : path.isEmpty() ? new String[0] : path.split("\\.")) {
                    loc.add(part);
                }
            }
            fault.put("msg", problem.message()).put("type", typeOf(problem.message()));
        }
        return plain(HttpStatus.UNPROCESSABLE_ENTITY, json.createObjectNode().set("detail", detail));
    }

    /** fal's (pydantic's) error types for the kinds of faults falgate names. */
    private static String typeOf(String message) {
        if (message.equals("is required")) {
            return "missing";
        }
        if (message.equals("is not a known field")) {
            return "extra_forbidden";
        }
        return message.startsWith("must be a") || message.startsWith("must be an") ? "type_error" : "value_error";
    }

    private JsonNode errorOf(JobResource job) {
        return job.error() == null ? json.createObjectNode() : json.readTree(job.error());
    }

    private ResponseEntity<String> ok(HttpStatus status, JobResource job, JsonNode body) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON)
                .header(REQUEST_ID_HEADER, job.id().toString()).body(json.writeValueAsString(body));
    }

    private ResponseEntity<String> plain(HttpStatus status, JsonNode body) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(json.writeValueAsString(body));
    }
}
