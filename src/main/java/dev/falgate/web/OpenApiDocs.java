package dev.falgate.web;

import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;

/** The OpenAPI description at {@code /v3/api-docs} (Swagger UI at {@code /swagger-ui.html}). */
@Configuration(proxyBeanMethods = false)
@OpenAPIDefinition(
        info = @Info(title = "falgate", version = "v1", description = """
                Self-hosted gateway in front of fal.ai's fal-ai/ltx-video-v097/extend ($0.12 a video).
                Every /v1 route needs `Authorization: Bearer <api key>`: missing or unknown key 401, missing scope 403,
                another client's job 404. Scopes: jobs:create (submit and cancel own jobs), jobs:read (read own jobs),
                ops:read (every job, history, spend), admin (everything, keys, budgets). Every error is RFC 9457
                application/problem+json with a stable type ending in its code (validation_failed, unauthorized,
                forbidden, not_found, conflict, idempotency_key_reused, budget_exceeded, rate_limited,
                payload_too_large, unsupported_media_type, fal_unavailable) and `errors` naming every offending field.
                Money is a decimal string of US dollars."""),
        security = @SecurityRequirement(name = "apiKey"))
@SecurityScheme(name = "apiKey", type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "An API key (fgk_...) or FALGATE_ADMIN_KEY")
class OpenApiDocs {

    /** Every operation documents the problems it can answer, with the RFC 9457 shape they all share. */
    @Bean
    OpenApiCustomizer problemResponses() {
        return openApi -> {
            Schema<?> fieldProblem = new ObjectSchema()
                    .addProperty("field", new StringSchema().example("input.video.video_url"))
                    .addProperty("message", new StringSchema().example("must be an absolute http or https URL"));
            Schema<?> problem = new ObjectSchema()
                    .addProperty("type", new StringSchema().example("https://falgate.dev/problems/validation_failed"))
                    .addProperty("title", new StringSchema().example("Validation failed"))
                    .addProperty("status", new IntegerSchema().example(400))
                    .addProperty("detail", new StringSchema().example("The request has 1 invalid field(s); see errors."))
                    .addProperty("code", new StringSchema().example("validation_failed"))
                    .addProperty("errors", new ArraySchema().items(new Schema<>().$ref("#/components/schemas/FieldProblem")));
            openApi.getComponents().addSchemas("FieldProblem", fieldProblem).addSchemas("Problem", problem);
            openApi.getPaths().forEach((path, item) -> item.readOperations().forEach(operation -> {
                ApiResponses responses = operation.getResponses();
                if (path.startsWith("/v1/")) {
                    responses.putIfAbsent("400", problem("Invalid input: every offending field is named (validation_failed)"));
                    responses.putIfAbsent("401", problem("No, unknown or revoked API key (unauthorized)"));
                    responses.putIfAbsent("403", problem("The API key lacks the route's scope (forbidden)"));
                    responses.putIfAbsent("429", problem("Over the key's rate limit; see Retry-After (rate_limited)"));
                }
                if (path.contains("{")) {
                    responses.putIfAbsent("404", problem("Unknown, or another client's (not_found)"));
                }
                if (path.equals("/v1/jobs") && operation.getRequestBody() != null) {
                    responses.putIfAbsent("402", problem("Over the client's monthly budget (budget_exceeded)"));
                    responses.putIfAbsent("413", problem("Body over 64 KiB (payload_too_large)"));
                    responses.putIfAbsent("415", problem("Not application/json (unsupported_media_type)"));
                    responses.putIfAbsent("422", problem("Idempotency-Key used before with another body (idempotency_key_reused)"));
                }
                if (path.endsWith("/cancel")) {
                    responses.putIfAbsent("409", problem("The job already ended (conflict)"));
                }
                if (path.startsWith("/fal/webhooks/")) {
                    responses.putIfAbsent("401", problem("Missing, bad or stale fal signature (unauthorized)"));
                }
                responses.putIfAbsent("500", problem("Unexpected failure, logged with a reference (internal_error)"));
            }));
        };
    }

    private static ApiResponse problem(String description) {
        return new ApiResponse().description(description).content(new Content().addMediaType(
                "application/problem+json", new MediaType().schema(new Schema<>().$ref("#/components/schemas/Problem"))));
    }
}
