package dev.falgate.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.Import;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import dev.falgate.IntegrationTest;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import tools.jackson.databind.JsonNode;

/** Every failure, expected or not, is an RFC 9457 problem with a stable type and no internals. */
@Import(ProblemShapeTest.FailingController.class)
class ProblemShapeTest extends IntegrationTest {

    @RestController
    static class FailingController {

        @RequiresScope(Scope.JOBS_READ)
        @GetMapping("/v1/test-failure")
        String fail() {
            throw new IllegalStateException("secret internals: jdbc:postgresql://db/prod?password=hunter2");
        }
    }

    @Test
    void validationErrorIsAProblemListingFields() {
        JsonNode problem = problem(post("/v1/jobs", "{\"input\": {}}"), 400, "validation_failed");

        assertThat(problem.path("title").asString()).isEqualTo("Validation failed");
        assertThat(problem.path("detail").asString()).contains("invalid field");
        assertThat(problem.path("errors").get(0).path("field").asString()).isEqualTo("input.prompt");
        assertThat(problem.path("errors").get(0).path("message").asString()).isEqualTo("is required");
    }

    @Test
    void malformedJsonSaysWhereItBroke() {
        JsonNode problem = problem(post("/v1/jobs", "{\"input\": "), 400, "validation_failed");

        assertThat(problem.path("detail").asString()).startsWith("The request body is not valid JSON");
        assertThat(problem.path("errors").get(0).path("field").asString()).isEqualTo("body");
    }

    @Test
    void unknownJobIsNotFound() {
        problem(get("/v1/jobs/6f1c0a9e-1d2b-4a3c-9f6e-0b8c2a1d7e55"), 404, "not_found");
        problem(get("/v1/jobs/not-a-uuid"), 404, "not_found");
    }

    @Test
    void unknownRouteIsNotFound() {
        problem(get("/v1/nothing-here"), 404, "not_found");
        problem(send(request("/nothing-here").GET()), 404, "not_found");
    }

    @Test
    void wrongMethodIsMethodNotAllowed() {
        HttpResponse<String> response = send(request("/v1/jobs").method("DELETE", HttpRequest.BodyPublishers.noBody()));

        problem(response, 405, "method_not_allowed");
        assertThat(response.headers().firstValue("Allow")).isPresent();
    }

    @Test
    void unexpectedFailureIsAnInternalErrorWithoutInternals() {
        HttpResponse<String> response = get("/v1/test-failure");

        JsonNode problem = problem(response, 500, "internal_error");
        assertThat(problem.path("detail").asString()).startsWith("An unexpected error occurred");
        assertThat(response.body()).doesNotContain("hunter2", "IllegalStateException", "at dev.falgate");
    }

    @Test
    void missingOrUnknownKeyIsUnauthorizedOnEveryV1Route() {
        HttpResponse<String> none = send(anonymous("/v1/jobs").POST(HttpRequest.BodyPublishers.ofString("{}")));
        HttpResponse<String> wrong = send(anonymous("/v1/jobs/x")
                .header("Authorization", "Bearer fgk_wrong_key_00000000000000000000000000").GET());
        HttpResponse<String> wrongScheme = send(anonymous("/v1/nothing").header("Authorization", "Basic " + ADMIN_KEY).GET());

        problem(none, 401, "unauthorized");
        problem(wrong, 401, "unauthorized");
        problem(wrongScheme, 401, "unauthorized");
        assertThat(wrong.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    }

    @Test
    void healthNeedsNoKey() {
        HttpResponse<String> health = send(anonymous("/actuator/health").GET());

        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(body(health).path("status").asString()).isEqualTo("UP");
        HttpResponse<String> readiness = send(anonymous("/actuator/health/readiness").GET());
        assertThat(readiness.statusCode()).isEqualTo(200);
    }

    private HttpRequest.Builder anonymous(String path) {
        return HttpRequest.newBuilder(request(path).build().uri());
    }

    private JsonNode problem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        JsonNode problem = body(response);
        assertThat(problem.path("type").asString()).isEqualTo("https://falgate.dev/problems/" + code);
        assertThat(problem.path("status").asInt()).isEqualTo(status);
        assertThat(problem.path("title").asString()).isNotBlank();
        assertThat(problem.path("errors").isArray()).isTrue();
        return problem;
    }
}
