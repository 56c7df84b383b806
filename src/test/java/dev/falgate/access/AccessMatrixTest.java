package dev.falgate.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import dev.falgate.IntegrationTest;

/**
 * Every route x every scope x own or another client's job: no key 401, a missing scope 403, another
 * client's job 404 (never 403, so existence does not leak), and the right answer otherwise.
 */
class AccessMatrixTest extends IntegrationTest {

    private String client;
    private String otherClient;
    private Map<String, String> keys;

    @BeforeEach
    void keysForEveryScope() {
        client = "app-" + UUID.randomUUID().toString().substring(0, 8);
        otherClient = "other-" + UUID.randomUUID().toString().substring(0, 8);
        keys = new LinkedHashMap<>();
        keys.put("none", null);
        keys.put("jobs:create", createKey(client, null, "jobs:create"));
        keys.put("jobs:read", createKey(client, null, "jobs:read"));
        keys.put("ops:read", createKey(client, null, "ops:read"));
        keys.put("admin", createKey(client, null, "admin"));
    }

    @Test
    void everyV1RouteDeclaresTheScopesItNeedsNextToItsMapping() {
        RequestMappingHandlerMapping mapping = applicationContext.getBean("requestMappingHandlerMapping",
                RequestMappingHandlerMapping.class);
        List<String> undeclared = new ArrayList<>();
        mapping.getHandlerMethods().forEach((info, method) -> {
            boolean v1 = info.getPatternValues().stream().anyMatch(pattern -> pattern.startsWith("/v1/"));
            if (v1 && method.getMethodAnnotation(RequiresScope.class) == null) {
                undeclared.add(info.toString());
            }
        });

        assertThat(undeclared).as("/v1 routes without @RequiresScope (ScopeCheck refuses them to every key)").isEmpty();
    }

    private record Route(String name, Function<String, HttpRequest.Builder> request, Map<String, Integer> expected) {
    }

    @Test
    void everyRouteAnswersEveryScopeAndOwnerAsSpecified() {
        String otherCreator = createKey(otherClient, null, "jobs:create");
        List<Route> routes = List.of(
                route("submit", key -> as(key, "/v1/jobs").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(validBody("matrix"))), 202, 403, 403, 202),
                route("read own job", key -> as(key, "/v1/jobs/" + jobOf(keys.get("jobs:create"))).GET(), 403, 200, 200, 200),
                route("read other client's job", key -> as(key, "/v1/jobs/" + jobOf(otherCreator)).GET(), 403, 404, 200, 200),
                route("cancel own job", key -> as(key, "/v1/jobs/" + jobOf(keys.get("jobs:create")) + "/cancel")
                        .POST(HttpRequest.BodyPublishers.noBody()), 202, 403, 403, 202),
                route("cancel other client's job", key -> as(key, "/v1/jobs/" + jobOf(otherCreator) + "/cancel")
                        .POST(HttpRequest.BodyPublishers.noBody()), 404, 403, 403, 202),
                route("events of own finished job", key -> as(key, "/v1/jobs/" + finishedJobOf(keys.get("jobs:create"))
                        + "/events").GET(), 403, 200, 200, 200),
                route("events of other client's job", key -> as(key, "/v1/jobs/" + finishedJobOf(otherCreator)
                        + "/events").GET(), 403, 404, 200, 200),
                route("history", key -> as(key, "/v1/jobs").GET(), 403, 200, 200, 200),
                route("history of another client", key -> as(key, "/v1/jobs?client=" + otherClient).GET(), 403, 403, 200, 200),
                route("spend", key -> as(key, "/v1/spend").GET(), 403, 403, 200, 200),
                route("create key", key -> as(key, "/v1/keys").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"client\": \"x\", \"name\": \"n\", \"scopes\": [\"jobs:read\"]}")),
                        403, 403, 403, 201),
                route("list keys", key -> as(key, "/v1/keys").GET(), 403, 403, 403, 200),
                route("revoke key", key -> as(key, "/v1/keys/" + UUID.randomUUID()).DELETE(), 403, 403, 403, 404),
                route("set budget", key -> as(key, "/v1/clients/" + otherClient + "/budget")
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": \"1000.00\"}")), 403, 403, 403, 200),
                route("read budget", key -> as(key, "/v1/clients/" + otherClient + "/budget").GET(), 403, 403, 403, 200));

        List<String> wrong = new ArrayList<>();
        for (Route route : routes) {
            for (Map.Entry<String, Integer> expectation : route.expected().entrySet()) {
                HttpResponse<String> response = send(route.request().apply(keys.get(expectation.getKey())));
                if (response.statusCode() != expectation.getValue()) {
                    wrong.add(route.name() + " with " + expectation.getKey() + ": expected " + expectation.getValue()
                            + ", got " + response.statusCode() + " " + response.body());
                }
                if (response.statusCode() >= 400) {
                    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                            type -> assertThat(type).startsWith("application/problem+json"));
                }
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void historyWithJobsReadShowsOnlyTheOwnClient() {
        jobOf(keys.get("jobs:create"));
        jobOf(createKey(otherClient, null, "jobs:create"));

        HttpResponse<String> own = send(as(keys.get("jobs:read"), "/v1/jobs?limit=200").GET());

        assertThat(body(own).path("data").valueStream().map(job -> job.path("client").asString()).distinct())
                .containsExactly(client);
    }

    @Test
    void revokedKeyStopsWorkingAtTheNextRequest() {
        String key = createKey(client, null, "jobs:read");
        assertThat(send(as(key, "/v1/jobs").GET()).statusCode()).isEqualTo(200);
        String id = body(get("/v1/keys")).path("data").valueStream()
                .filter(k -> k.path("client").asString().equals(client) && k.path("last_used_at").isString())
                .filter(k -> key.startsWith(k.path("key_prefix").asString()))
                .findFirst().orElseThrow().path("id").asString();

        assertThat(send(request("/v1/keys/" + id).DELETE()).statusCode()).isEqualTo(204);

        HttpResponse<String> after = send(as(key, "/v1/jobs").GET());
        assertThat(after.statusCode()).isEqualTo(401);
        assertThat(send(request("/v1/keys/" + id).DELETE()).statusCode()).as("already revoked").isEqualTo(404);
    }

    @Test
    void keySecretsAreShownOnceAndNowhereElse() {
        String key = createKey(client, null, "jobs:create", "jobs:read");
        String id = body(send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody("secret-check"))))).path("id").asString();

        assertThat(key).startsWith("fgk_").hasSizeGreaterThan(40);
        for (String path : List.of("/v1/keys", "/v1/jobs/" + id, "/v1/jobs?limit=200", "/actuator/health",
                "/v3/api-docs")) {
            assertThat(send(request(path).GET()).body()).as(path).doesNotContain(key).doesNotContain(key.substring(4));
        }
        for (String path : List.of("/actuator/prometheus", "/actuator/health")) {
            assertThat(management(path).body()).as(path).doesNotContain(key).doesNotContain(key.substring(4));
        }
        assertThat(jdbc.sql("select count(*) from api_key where key_hash = ? or key_prefix = ?").param(key).param(key)
                .query(Long.class).single()).as("the secret is not stored").isZero();
    }

    @Test
    void badKeyRequestsNameEveryField() {
        HttpResponse<String> response = post("/v1/keys",
                "{\"client\": \"Not Valid!\", \"name\": \"\", \"scopes\": [], \"rate_limit_per_minute\": 0}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(body(response).path("errors").valueStream().map(e -> e.path("field").asString()).toList())
                .contains("client", "name", "scopes", "rate_limit_per_minute");
        assertThat(post("/v1/keys", "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [\"everything\"]}").statusCode())
                .isEqualTo(400);
        assertThat(body(post("/v1/keys", "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [\"admin\"], \"colour\": 1}"))
                .path("errors").get(0).path("field").asString()).isEqualTo("colour");
        assertThat(body(post("/v1/keys", "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [\"admin\"], "
                + "\"rate_limit_per_minute\": \"60\"}")).path("errors").get(0).path("field").asString())
                .isEqualTo("rate_limit_per_minute");
    }

    private String jobOf(String creatorKey) {
        HttpResponse<String> created = send(as(creatorKey, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody("matrix " + UUID.randomUUID()))));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        return body(created).path("id").asString();
    }

    /** A job that already ended (cancelled before fal), so its event stream closes after one event. */
    private String finishedJobOf(String creatorKey) {
        String id = jobOf(creatorKey);
        send(as(creatorKey, "/v1/jobs/" + id + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
        return id;
    }

    private static Route route(String name, Function<String, HttpRequest.Builder> request, int jobsCreate, int jobsRead,
            int opsRead, int admin) {
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("none", 401);
        expected.put("jobs:create", jobsCreate);
        expected.put("jobs:read", jobsRead);
        expected.put("ops:read", opsRead);
        expected.put("admin", admin);
        return new Route(name, request, expected);
    }
}
