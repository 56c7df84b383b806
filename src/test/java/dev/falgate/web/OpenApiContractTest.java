package dev.falgate.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import dev.falgate.ApiContract;
import dev.falgate.IntegrationTest;
import dev.falgate.simulator.FalSimulator;
import io.swagger.v3.oas.annotations.Hidden;
import tools.jackson.databind.JsonNode;

/**
 * The OpenAPI document at /v3/api-docs tells callers the truth. Every answer the suite receives is checked against it
 * ({@link IntegrationTest#send}, {@link ApiContract}); here every documented operation is called at least once with a
 * request that succeeds, and the document itself is held to api.md: wire names, statuses, security, routes.
 */
class OpenApiContractTest extends IntegrationTest {

    /** api.md, first part: the routes callers call on the API port (fal's webhook path is falgate's own choice). */
    private static final List<String> API_MD_ROUTES = List.of(
            "POST /v1/jobs", "GET /v1/jobs/{id}", "POST /v1/jobs/{id}/cancel", "GET /v1/jobs/{id}/events", "GET /v1/jobs",
            "GET /v1/spend", "POST /v1/keys", "GET /v1/keys", "DELETE /v1/keys/{id}",
            "PUT /v1/clients/{client}/budget", "GET /v1/clients/{client}/budget",
            "POST /fal/webhooks/{jobId}", "GET /actuator/health");
    /** Routes api.md names that the document rightly leaves out. */
    private static final Map<String, String> NOT_IN_THE_DOCUMENT = Map.of(
            "GET /actuator/prometheus", "served on the management port, not the API port",
            "GET /v3/api-docs", "the document itself");
    private static final Pattern SNAKE_CASE = Pattern.compile("[a-z0-9]+(_[a-z0-9]+)*");

    private final Set<String> answered = new TreeSet<>();

    @Test
    void everyDocumentedOperationAnswersAsDocumented() {
        fal.serveMedia(); // completed videos are real bytes the archive copies
        String client = "contract-" + UUID.randomUUID().toString().substring(0, 8);
        HttpResponse<String> created = call(201, request("/v1/keys").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"client": "%s", "scopes": ["jobs:create", "jobs:read"], "name": "contract"}""".formatted(client))));
        call(200, request("/v1/keys").GET());
        call(200, request("/v1/me").GET());
        call(200, request("/v1/clients/" + client + "/budget").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": \"100.00\"}")));
        call(200, request("/v1/clients/" + client + "/budget").GET());
        call(201, request("/v1/clients/" + client + "/callback-secret").POST(HttpRequest.BodyPublishers.noBody()));

        String key = body(created).path("key").asString();
        String submit = """
                {"input": {"prompt": "Woman walking on a street in Tokyo %s", "seed": 42,
                           "video": {"video_url": "https://example.com/in.mp4", "start_frame_num": 24}},
                 "metadata": {"order_id": "A-1001"}}""".formatted(UUID.randomUUID());
        String completed = body(call(202, submitAs(key, submit))).path("id").asString();
        call(200, submitAs(key, submit)); // the idempotent replay
        call(200, as(key, "/v1/jobs/" + completed).GET()); // queued: most fields null
        runWorker();
        deliverSignedWebhook(completed);
        assertThat(body(call(200, as(key, "/v1/jobs/" + completed).GET())).path("status").asString()).isEqualTo("completed");
        call(200, as(key, "/v1/jobs/" + completed + "/events").GET());
        call(404, as(key, "/v1/jobs/" + completed + "/video").GET()); // not copied yet
        runArchive();
        call(200, as(key, "/v1/jobs/" + completed + "/video").GET());

        String failed = submitJob("[sim:fail] " + UUID.randomUUID());
        runWorker();
        fal.deliverWebhook(job(failed).path("fal_request_id").asString(), gateway(), clock.instant());
        assertThat(body(call(200, request("/v1/jobs/" + failed).GET())).path("status").asString()).isEqualTo("failed");

        String cancelled = body(call(202, submitAs(key, validBody(UUID.randomUUID().toString())))).path("id").asString();
        call(202, as(key, "/v1/jobs/" + cancelled + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        call(409, as(key, "/v1/jobs/" + cancelled + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        String called = body(call(202, submitAs(key, validBody(UUID.randomUUID().toString()).replaceFirst("\\{",
                "{\"callback_url\": \"" + receiver.url("/contract") + "\", ")))).path("id").asString();
        call(409, as(key, "/v1/jobs/" + called + "/callbacks/redeliver").POST(HttpRequest.BodyPublishers.noBody()));
        call(202, as(key, "/v1/jobs/" + called + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        runCallbacks();
        call(200, as(key, "/v1/jobs/" + called + "/callbacks").GET());
        call(202, as(key, "/v1/jobs/" + called + "/callbacks/redeliver").POST(HttpRequest.BodyPublishers.noBody()));

        call(200, request("/v1/jobs?client=" + client + "&limit=2").GET());
        call(200, request("/v1/jobs?client=" + client).header("Accept", "text/csv").GET());
        call(200, request("/v1/spend?group_by=client").GET());
        call(204, request("/v1/keys/" + body(created).path("id").asString()).DELETE());
        call(200, HttpRequest.newBuilder(gateway().resolve("/actuator/health")).GET());
        call(200, HttpRequest.newBuilder(gateway().resolve("/actuator/health/liveness")).GET());
        call(200, HttpRequest.newBuilder(gateway().resolve("/actuator/health/readiness")).GET());

        // fal's protocol (facade), as fal's clients call it
        String falInput = "{\"prompt\": \"Woman walking " + UUID.randomUUID() + "\", \"video\": {\"video_url\": "
                + "\"https://example.com/in.mp4\"}}";
        String falRequest = body(call(200, falCall("/fal-ai/ltx-video-v097/extend")
                .POST(HttpRequest.BodyPublishers.ofString(falInput)))).path("request_id").asString();
        String requests = "/fal-ai/ltx-video-v097/requests/" + falRequest;
        call(202, falCall(requests + "/status?logs=1").GET());
        call(400, falCall(requests).GET()); // still in progress
        call(202, falCall(requests + "/cancel").PUT(HttpRequest.BodyPublishers.noBody()));
        call(200, falCall(requests + "/status/stream").GET()); // cancelled: one COMPLETED event, then closed
        call(400, falCall(requests).GET()); // cancelled
        call(200, falCall("/fal/proxy").header("x-fal-target-url", "https://queue.fal.run" + requests + "/status")
                .GET()); // COMPLETED (cancelled)
        call(400, falCall("/fal/proxy").header("x-fal-target-url", "https://queue.fal.run" + requests + "/cancel")
                .PUT(HttpRequest.BodyPublishers.noBody())); // ALREADY_COMPLETED
        call(403, falCall("/fal/proxy").header("x-fal-target-url", "https://queue.fal.run/fal-ai/flux/dev")
                .POST(HttpRequest.BodyPublishers.ofString(falInput)));
        call(200, HttpRequest.newBuilder(gateway().resolve("/.well-known/jwks.json")).GET());
        call(201, request("/v1/webhook-signing-keys").POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(answered).as("operations this walk called").containsAll(documentedOperations());
    }

    @Test
    void namesAreSnakeCaseAsOnTheWire() {
        List<String> names = new ArrayList<>();
        collectPropertyNames(document(), names);

        assertThat(names).isNotEmpty().allSatisfy(name -> assertThat(name).matches(SNAKE_CASE));
        assertThat(names).contains("fal_request_id", "next_cursor", "monthly_usd", "rate_limit_per_minute", "video_url");
    }

    @Test
    void internalRoutesAreNotDocumented() {
        assertThat(document().path("paths").propertyNames()).doesNotContain("/error", "/v3/api-docs");
    }

    @Test
    void falsWebhookAndHealthTakeNoKey() {
        assertThat(document().path("security").isMissingNode()).as("no document-wide security").isTrue();
        for (String operation : List.of("POST /fal/webhooks/{jobId}", "GET /actuator/health",
                "GET /actuator/health/liveness", "GET /actuator/health/readiness")) {
            assertThat(operation(operation).path("security").isMissingNode()).as(operation).isTrue();
        }
    }

    @Test
    void everyV1OperationTakesTheBearerKeyAndNamesItsScopes() {
        assertThat(document().at("/components/securitySchemes/apiKey/scheme").asString()).isEqualTo("bearer");
        for (String operation : documentedOperations()) {
            if (operation.contains(" /v1/")) {
                assertThat(operation(operation).path("security").toString()).as(operation).isEqualTo("[{\"apiKey\":[]}]");
                assertThat(operation(operation).path("x-required-scopes").isArray()).as(operation).isTrue();
                assertThat(operation(operation).path("responses").propertyNames()).as(operation)
                        .contains("401", "403", "429");
            }
        }
        assertThat(operation("GET /v1/jobs").path("x-required-scopes").toString()).isEqualTo("[\"jobs:read\",\"ops:read\"]");
        assertThat(operation("POST /v1/keys").path("x-required-scopes").toString()).isEqualTo("[\"admin\"]");
    }

    @Test
    void statusesAreTheOnesTheRoutesAnswer() {
        assertThat(statuses("POST /v1/keys")).contains("201").doesNotContain("200");
        assertThat(statuses("DELETE /v1/keys/{id}")).contains("204", "404").doesNotContain("200");
        assertThat(statuses("POST /v1/jobs")).contains("202", "200", "400", "402", "413", "415", "422", "429");
        assertThat(statuses("POST /v1/jobs/{id}/cancel")).contains("202", "404", "409").doesNotContain("200");
        assertThat(statuses("GET /v1/jobs/{id}")).contains("200", "404");
        assertThat(statuses("POST /fal/webhooks/{jobId}")).contains("200", "401", "413", "503");
        assertThat(operation("GET /v1/jobs").at("/responses/200/content").propertyNames())
                .contains("application/json", "text/csv");
        assertThat(operation("GET /v1/jobs/{id}/events").at("/responses/200/content").propertyNames())
                .containsExactly("text/event-stream");
        assertThat(operation("GET /actuator/health").at("/responses/503/content/application~1json/schema/properties")
                .propertyNames()).as("health answers its status, not a problem").containsExactly("status");
    }

    @Test
    void everyErrorIsAProblem() {
        for (String operation : documentedOperations()) {
            operation(operation).path("responses").properties().forEach(response -> {
                boolean healthStatus = operation.contains("/actuator/health") && response.getKey().equals("503");
                // fal's protocol: fal's clients parse only application/json (facade.FalQueueDocs)
                boolean falsProtocol = operation.contains(" /fal-ai/") || operation.endsWith(" /fal/proxy");
                if (response.getKey().matches("[45]..") && !healthStatus && !falsProtocol) {
                    assertThat(response.getValue().path("content").toString()).as(operation + " " + response.getKey())
                            .isEqualTo("{\"application/problem+json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}");
                }
            });
        }
        assertThat(document().at("/components/schemas/Problem/properties").propertyNames())
                .contains("type", "title", "status", "detail", "code", "errors");
        assertThat(document().at("/components/schemas/FieldProblem/properties").propertyNames())
                .containsExactlyInAnyOrder("field", "message");
    }

    @Test
    void theSubmitBodyIsFalsInputAndTheJobsJsonIsTyped() {
        assertThat(operation("POST /v1/jobs").at("/requestBody/content/application~1json/schema/$ref").asString())
                .isEqualTo("#/components/schemas/SubmitRequest");
        JsonNode input = document().at("/components/schemas/ExtendInput");
        assertThat(input.path("properties").propertyNames()).containsExactly("prompt", "negative_prompt", "resolution",
                "aspect_ratio", "seed", "num_inference_steps", "expand_prompt", "video");
        assertThat(input.at("/properties/num_inference_steps/maximum").asInt()).isEqualTo(50);
        assertThat(input.path("additionalProperties").asBoolean(true)).as("unknown fields are refused").isFalse();

        JsonNode job = document().at("/components/schemas/JobResource/properties");
        assertThat(job.at("/input/$ref").asString()).isEqualTo("#/components/schemas/ExtendInput");
        for (String json : List.of("metadata", "result", "error")) {
            assertThat(job.path(json).path("type").asString()).as(json).isEqualTo("object");
            assertThat(job.path(json).path("nullable").asBoolean()).as(json).isTrue();
        }
        assertThat(job.at("/cost_usd/pattern").asString()).isEqualTo(Usd.PATTERN);
        assertThat(job.at("/created_at/format").asString()).isEqualTo("date-time");
    }

    @Test
    void everyRouteTheAppServesIsDocumented() {
        RequestMappingHandlerMapping mappings = applicationContext.getBean("requestMappingHandlerMapping",
                RequestMappingHandlerMapping.class);
        Set<String> served = new TreeSet<>();
        mappings.getHandlerMethods().forEach((RequestMappingInfo info, HandlerMethod handler) -> {
            boolean internal = handler.getBeanType().getPackageName().startsWith("org.springdoc")
                    || handler.getBeanType().isAnnotationPresent(Hidden.class);
            if (!internal) {
                info.getPathPatternsCondition().getPatternValues().forEach(path -> info.getMethodsCondition().getMethods()
                        .forEach(method -> served.add(method + " " + path)));
            }
        });

        assertThat(documentedOperations()).containsAll(served);
    }

    @Test
    void everyRouteOfApiMdIsDocumented() throws IOException {
        assertThat(documentedOperations()).containsAll(API_MD_ROUTES);

        // api.md itself, where it lies beside the repository (as on developers' machines and in CI)
        Path apiMd = Path.of("..", "shared", "api.md");
        Assumptions.assumeTrue(Files.isReadable(apiMd), "../shared/api.md is not here");
        String firstPart = Files.readString(apiMd, StandardCharsets.UTF_8).split("\n# ")[0];
        Matcher route = Pattern.compile("`(GET|POST|PUT|DELETE|PATCH) (/[^`\\s]*)`").matcher(firstPart);
        while (route.find()) {
            String named = route.group(1) + " " + route.group(2);
            assertThat(API_MD_ROUTES.contains(named) || NOT_IN_THE_DOCUMENT.containsKey(named))
                    .as("api.md names %s", named).isTrue();
        }
    }

    // --- the walk ----------------------------------------------------------------------------------------------------

    /** Sends as every test does (so the answer is checked against the document), expecting {@code status}. */
    private HttpRequest.Builder falCall(String path) {
        return HttpRequest.newBuilder(gateway().resolve(path)).header("Authorization", "Key " + ADMIN_KEY)
                .header("Content-Type", "application/json");
    }

    private HttpResponse<String> call(int status, HttpRequest.Builder request) {
        HttpRequest sent = request.build();
        HttpResponse<String> response = send(request);
        assertThat(response.statusCode()).as("%s %s: %s", sent.method(), sent.uri(), response.body()).isEqualTo(status);
        contract().operationOf(sent.method(), sent.uri().getRawPath()).ifPresent(answered::add);
        return response;
    }

    private HttpRequest.Builder submitAs(String key, String body) {
        return as(key, "/v1/jobs").header("Content-Type", "application/json").header("Idempotency-Key", "k-" + body.hashCode())
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    /** fal's signed delivery for the job's request, sent as fal sends it: the webhook answers are checked too. */
    private void deliverSignedWebhook(String jobId) {
        String requestId = job(jobId).path("fal_request_id").asString();
        byte[] body = json.writeValueAsBytes(Map.of("request_id", requestId, "gateway_request_id", requestId,
                "status", "OK", "payload", Map.of("video", Map.of("url", "https://v3.fal.media/files/x/out.mp4"))));
        String timestamp = Long.toString(clock.instant().getEpochSecond());
        call(200, HttpRequest.newBuilder(gateway().resolve("/fal/webhooks/" + jobId))
                .header("Content-Type", "application/json")
                .header("X-Fal-Webhook-Request-Id", requestId)
                .header("X-Fal-Webhook-User-Id", FalSimulator.USER_ID)
                .header("X-Fal-Webhook-Timestamp", timestamp)
                .header("X-Fal-Webhook-Signature", fal.sign(requestId, timestamp, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    // --- reading the document ----------------------------------------------------------------------------------------

    private ApiContract contract() {
        return ApiContract.servedOn(port);
    }

    private JsonNode document() {
        return json.readTree(contract().document());
    }

    /** Every operation as {@code "GET /v1/jobs/{id}"}. */
    private Set<String> documentedOperations() {
        Set<String> operations = new TreeSet<>();
        document().path("paths").properties().forEach(path -> path.getValue().propertyNames().stream()
                .filter(method -> method.matches("get|put|post|delete|patch|head|options"))
                .forEach(method -> operations.add(method.toUpperCase() + " " + path.getKey())));
        return operations;
    }

    private JsonNode operation(String operation) {
        String[] parts = operation.split(" ", 2);
        return document().path("paths").path(parts[1]).path(parts[0].toLowerCase());
    }

    private Set<String> statuses(String operation) {
        return new TreeSet<>(operation(operation).path("responses").propertyNames());
    }

    private static void collectPropertyNames(JsonNode node, List<String> names) {
        if (node.isObject()) {
            if (node.path("properties").isObject()) {
                names.addAll(node.path("properties").propertyNames());
            }
            node.forEach(child -> collectPropertyNames(child, names));
        } else if (node.isArray()) {
            node.forEach(child -> collectPropertyNames(child, names));
        }
    }
}
