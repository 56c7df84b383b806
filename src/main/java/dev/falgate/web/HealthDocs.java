package dev.falgate.web;

import java.util.List;

import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;

import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;

/**
 * The health routes callers and orchestrators use on the API port (api.md, Operations), which springdoc does not see:
 * no key, 200 while UP, 503 otherwise, and a body that is not a problem but the health status. These paths are
 * written whole, over whatever springdoc made of them, with every status they answer.
 */
@Configuration(proxyBeanMethods = false)
class HealthDocs {

    static final List<String> PATHS = List.of("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness");

    @Bean
    OpenApiCustomizer healthRoutes() {
        return openApi -> {
            for (String path : PATHS) {
                String what = path.endsWith("/liveness") ? "Liveness"
                        : path.endsWith("/readiness") ? "Readiness (the database included)" : "Health (the database included)";
                openApi.getPaths().addPathItem(path, new PathItem().get(new Operation()
                        .operationId(path.endsWith("/health") ? "health" : path.substring(path.lastIndexOf('/') + 1))
                        .summary(what + "; no key")
                        .tags(List.of("Operations"))
                        .responses(new ApiResponses()
                                .addApiResponse("200", health("UP"))
                                .addApiResponse("503", health("DOWN or OUT_OF_SERVICE"))
                                .addApiResponse("400", new ApiResponse().description(OpenApiDocs.BAD_REQUEST)
                                        .content(OpenApiDocs.problemContent()))
                                .addApiResponse("500", new ApiResponse().description(OpenApiDocs.INTERNAL_ERROR)
                                        .content(OpenApiDocs.problemContent())))));
            }
        };
    }

    private static ApiResponse health(String status) {
        Schema<?> body = new Schema<>().type("object")
                .addProperty("status", new StringSchema()._enum(List.of("UP", "DOWN", "OUT_OF_SERVICE", "UNKNOWN")))
                .required(List.of("status"));
        body.setAdditionalProperties(true); // the components' states, where shown
        io.swagger.v3.oas.models.media.MediaType media = new io.swagger.v3.oas.models.media.MediaType().schema(body);
        return new ApiResponse().description("status " + status).content(new Content()
                .addMediaType(MediaType.APPLICATION_JSON_VALUE, media)
                .addMediaType("application/vnd.spring-boot.actuator.v3+json", media));
    }
}
