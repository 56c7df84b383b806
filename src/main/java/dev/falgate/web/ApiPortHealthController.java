package dev.falgate.web;

import java.util.Map;

import org.springframework.boot.health.actuate.endpoint.HealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.contributor.Status;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;

/**
 * Health on the API port for load balancers and orchestrators, no key needed: the overall, liveness and readiness
 * status and nothing else. Components, details and metrics (per-client spend among them) are served only on the
 * management port ({@code MANAGEMENT_SERVER_PORT}), which is not exposed to callers.
 */
@RestController
@Tag(name = "Operations", description = "Health for load balancers; metrics and details live on the management port")
class ApiPortHealthController {

    private final HealthEndpoint health;

    ApiPortHealthController(HealthEndpoint health) {
        this.health = health;
    }

    @Operation(summary = "Overall health (database included): 503 when DOWN or OUT_OF_SERVICE, else 200")
    @GetMapping(path = "/actuator/health", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, String>> overall() {
        return answer(health.health());
    }

    @Operation(summary = "Liveness: the process works; 503 when DOWN or OUT_OF_SERVICE, else 200")
    @GetMapping(path = "/actuator/health/liveness", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, String>> liveness() {
        return answer(health.healthForPath("liveness"));
    }

    @Operation(summary = "Readiness: the database answers; 503 when DOWN or OUT_OF_SERVICE, else 200")
    @GetMapping(path = "/actuator/health/readiness", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, String>> readiness() {
        return answer(health.healthForPath("readiness"));
    }

    private static ResponseEntity<Map<String, String>> answer(HealthDescriptor descriptor) {
        Status status = descriptor == null ? Status.UNKNOWN : descriptor.getStatus();
        // actuator's own mapping: only DOWN and OUT_OF_SERVICE take an instance out of rotation
        boolean out = status.equals(Status.DOWN) || status.equals(Status.OUT_OF_SERVICE);
        return ResponseEntity.status(out ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK)
                .body(Map.of("status", status.getCode()));
    }
}
