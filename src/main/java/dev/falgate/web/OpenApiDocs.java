package dev.falgate.web;

import org.springframework.context.annotation.Configuration;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;

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
}
