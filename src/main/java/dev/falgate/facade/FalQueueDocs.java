package dev.falgate.facade;

import java.util.List;

import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenAPI description of the routes that speak fal's protocol: their bodies are fal's (fal-protocol.md and fal's
 * own documentation of the endpoint), every answer, errors included, is {@code application/json} (fal's clients parse
 * no other type), and a failed request's result carries fal's own status, hence a {@code default} answer.
 */
@Configuration(proxyBeanMethods = false)
class FalQueueDocs {

    @Bean
    OpenApiCustomizer falQueueResponses() {
        return openApi -> openApi.getPaths().forEach((path, item) -> {
            if (!path.startsWith("/fal-ai/") && !path.equals("/fal/proxy")) {
                return;
            }
            item.readOperations().forEach(operation -> {
                ApiResponses responses = operation.getResponses();
                // the ones every route shares (web.OpenApiDocs), here as plain JSON: customizers run in no set order
                responses.putIfAbsent("400", new ApiResponse().description("An ambiguous path, or a missing "
                        + "x-fal-target-url (validation_failed)"));
                responses.putIfAbsent("406", new ApiResponse().description("The Accept header matches nothing"));
                responses.putIfAbsent("500", new ApiResponse().description("An unexpected failure (internal_error)"));
                responses.forEach((status, response) -> response.setContent(json(status.equals("422")
                        ? validationError() : status.startsWith("4") || status.startsWith("5") ? error() : answer())));
                if (path.endsWith("/status/stream") || path.equals("/fal/proxy")) {
                    responses.computeIfAbsent("200", status -> new ApiResponse().description("fal's answer"))
                            .getContent().addMediaType(org.springframework.http.MediaType.TEXT_EVENT_STREAM_VALUE,
                                    new MediaType().schema(new StringSchema()
                                            .description("data: <fal's status JSON> per change; closed after COMPLETED")));
                }
                responses.putIfAbsent("202", new ApiResponse().description("IN_QUEUE or IN_PROGRESS (status), "
                        + "CANCELLATION_REQUESTED (cancel)").content(json(answer())));
                responses.putIfAbsent("404", new ApiResponse().description("No such request for this key")
                        .content(json(error())));
                responses.putIfAbsent("422", new ApiResponse().description("fal's validation error: every fault in "
                        + "fal's input").content(json(validationError())));
                responses.put("default", new ApiResponse().description("A failed request's result: fal's own status "
                        + "and body").content(json(error())));
            });
        });
    }

    private static Content json(Schema<?> schema) {
        return new Content().addMediaType(org.springframework.http.MediaType.APPLICATION_JSON_VALUE,
                new MediaType().schema(schema));
    }

    /** fal's answers (submit, status, result, cancel): objects whose fields fal documents. */
    private static Schema<?> answer() {
        Schema<?> answer = new ObjectSchema().description("fal's shape: see fal's queue protocol");
        answer.setAdditionalProperties(true);
        return answer;
    }

    /** An error fal's clients read: {@code detail} (text, or fal's list), and falgate's problem fields when it is one. */
    private static Schema<?> error() {
        Schema<?> error = new ObjectSchema().description("fal's error body, or falgate's problem (401, 402, 403, 429, "
                + "…) as plain JSON; fal's clients show its detail");
        error.setAdditionalProperties(true);
        return error;
    }

    private static Schema<?> validationError() {
        Schema<?> fault = new ObjectSchema()
                .addProperty("loc", new ArraySchema().items(new StringSchema()).example(List.of("body", "prompt")))
                .addProperty("msg", new StringSchema().example("is required"))
                .addProperty("type", new StringSchema().example("missing"));
        return new ObjectSchema().addProperty("detail", new ArraySchema().items(fault));
    }
}
