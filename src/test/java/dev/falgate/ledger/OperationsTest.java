package dev.falgate.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** What operators see: Prometheus metrics and the OpenAPI description, with every route. */
class OperationsTest extends IntegrationTest {

    @Autowired
    SpendGauges gauges;

    @Test
    void prometheusShowsJobsFalCallsSpendInFlightAndBudgetLeft() {
        String client = "metrics-" + UUID.randomUUID().toString().substring(0, 8);
        String key = createKey(client, null, "jobs:create");
        send(request("/v1/clients/" + client + "/budget").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"monthly_usd\": \"10.00\"}")));
        submit(key);
        runWorker();
        clock.advance(Duration.ofSeconds(3));
        runWorker();
        submit(key); // stays in flight
        gauges.refresh();

        String metrics = management("/actuator/prometheus").body();

        assertThat(metrics)
                .contains("falgate_jobs_total{client=\"" + client + "\",status=\"completed\"} 1.0")
                .contains("falgate_jobs_total{client=\"" + client + "\",status=\"queued\"} 2.0")
                .contains("falgate_fal_calls_seconds_count{operation=\"submit\",outcome=\"2xx\"}")
                .contains("falgate_fal_calls_seconds_bucket{operation=\"submit\",outcome=\"2xx\",le=\"0.1\"}")
                .contains("falgate_spend_usd_total{client=\"" + client + "\"} 0.12")
                .contains("falgate_jobs_in_flight{client=\"" + client + "\"} 1.0")
                .contains("falgate_budget_left_usd{client=\"" + client + "\"} 9.76")
                .contains("falgate_fal_refusing");
    }

    @Test
    void openApiDescribesEveryRouteAndTheBearerScheme() {
        HttpResponse<String> docs = send(request("/v3/api-docs").GET());

        assertThat(docs.statusCode()).isEqualTo(200);
        JsonNode api = body(docs);
        assertThat(api.path("paths").propertyNames()).contains("/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/cancel",
                "/v1/spend", "/v1/keys", "/v1/keys/{id}", "/v1/clients/{client}/budget", "/fal/webhooks/{jobId}");
        assertThat(api.path("components").path("securitySchemes").path("apiKey").path("scheme").asString())
                .isEqualTo("bearer");
        assertThat(docs.body()).doesNotContain("\"name\":\"caller\"").contains("budget_exceeded");
        JsonNode submit = api.path("paths").path("/v1/jobs").path("post");
        assertThat(submit.path("responses").propertyNames()).contains("202", "400", "401", "402", "403", "413", "415",
                "422", "429", "500");
        assertThat(submit.path("responses").path("400").path("content").has("application/problem+json")).isTrue();
        assertThat(api.path("paths").path("/v1/jobs/{id}").path("get").path("responses").propertyNames()).contains("404");
        assertThat(send(request("/swagger-ui.html").GET()).statusCode()).isIn(200, 302);
        assertThat(List.of(send(request("/swagger-ui/index.html").GET()).statusCode())).containsExactly(200);
    }

    private void submit(String key) {
        assertThat(send(as(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(validBody("metrics " + UUID.randomUUID())))).statusCode())
                .isEqualTo(202);
    }
}
