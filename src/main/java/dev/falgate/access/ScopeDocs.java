package dev.falgate.access;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;

/**
 * Documents each route's key and scopes from the {@link RequiresScope} that {@link ScopeCheck} enforces, so the
 * document can't promise other access than the code grants: the bearer key, the scopes that open the route, and the
 * 401, 403 and 429 that {@link ApiKeyFilter} and {@link ScopeCheck} answer. A route without the annotation (fal's
 * webhook, health) takes no key and shows none.
 */
@Configuration(proxyBeanMethods = false)
@SecurityScheme(name = ScopeDocs.API_KEY, type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "An API key (fgk_...) or FALGATE_ADMIN_KEY")
class ScopeDocs {

    static final String API_KEY = "apiKey";
    /** The scopes of the route, any one of which opens it, as a vendor extension for tools. */
    static final String SCOPES_EXTENSION = "x-required-scopes";

    @Bean
    OperationCustomizer keyAndScopes() {
        return (operation, handler) -> {
            RequiresScope required = handler.getMethodAnnotation(RequiresScope.class);
            if (required == null) {
                return operation;
            }
            List<String> scopes = Arrays.stream(required.value()).map(Scope::value).toList();
            String note = "Scope: " + scopes.stream().map(scope -> "`" + scope + "`").collect(Collectors.joining(" or "))
                    + (scopes.contains(Scope.ADMIN.value()) ? "." : " (or `admin`, which holds every scope).");
            operation.setDescription(operation.getDescription() == null ? note : note + "\n\n" + operation.getDescription());
            operation.addSecurityItem(new SecurityRequirement().addList(API_KEY));
            operation.addExtension(SCOPES_EXTENSION, scopes);
            operation.getResponses().putIfAbsent("401", new ApiResponse()
                    .description("No API key, or an unknown or revoked one (unauthorized)")
                    .addHeaderObject("WWW-Authenticate", new Header().schema(new StringSchema().example("Bearer"))));
            operation.getResponses().putIfAbsent("403", new ApiResponse()
                    .description("The API key holds none of the route's scopes (forbidden)"));
            operation.getResponses().putIfAbsent("429", new ApiResponse()
                    .description("Over the key's rate limit (rate_limited)")
                    .addHeaderObject("Retry-After", new Header().description("Seconds to wait")
                            .schema(new IntegerSchema())));
            return operation;
        };
    }
}
