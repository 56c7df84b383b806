package dev.falgate.web;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springdoc.core.providers.ObjectMapperProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.RequestBody;

import io.swagger.v3.core.jackson.ModelResolver;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.PropertyNamingStrategy;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAPI description at {@code /v3/api-docs} (Swagger UI at {@code /swagger-ui.html}): what every route shares.
 * What a route adds is declared next to it: its statuses on the controller, its key and scopes by
 * {@code access.ScopeDocs} from {@code @RequiresScope}, the job's JSON columns by {@code job.JobApiDocs}.
 */
@Configuration(proxyBeanMethods = false)
@OpenAPIDefinition(info = @Info(title = "falgate", version = "v1", description = """
        Self-hosted gateway in front of fal.ai's fal-ai/ltx-video-v097/extend ($0.12 a video).
        Every /v1 route needs `Authorization: Bearer <api key>` (missing or unknown key 401, missing scope 403,
        another client's job 404); each operation names the scopes that open it. Every error is RFC 9457
        application/problem+json with a stable `type` ending in its `code` (validation_failed, unauthorized,
        forbidden, not_found, conflict, idempotency_key_reused, budget_exceeded, rate_limited, payload_too_large,
        unsupported_media_type, ...) and `errors` naming every offending field. Names are snake_case, money is a
        decimal string of US dollars, timestamps are RFC 3339 UTC."""))
class OpenApiDocs {

    static final String PROBLEM = "Problem";
    static final String BAD_REQUEST = "Invalid input, every offending field named; or an ambiguous path (validation_failed)";
    static final String NOT_ACCEPTABLE = "The Accept header names nothing this route answers with, or does not parse "
            + "(not_acceptable)";
    static final String INTERNAL_ERROR = "An unexpected failure, logged with the reference in `detail` (internal_error)";
    private static final String FIELD_PROBLEM = "FieldProblem";

    /**
     * springdoc reads the records with swagger-core's own Jackson 2 mapper, which knows nothing of
     * {@code spring.jackson.*}: without this it documents {@code falRequestId} where the wire says
     * {@code fal_request_id}. This resolver names every property as the app's Jackson 3 mapper writes it.
     */
    @Bean
    ModelResolver wireNamedModels(JsonMapper json, ObjectMapperProvider springdocMappers) {
        return new ModelResolver(springdocMappers.jsonMapper().copy()
                .setPropertyNamingStrategy(jackson2(json.serializationConfig().getPropertyNamingStrategy())));
    }

    /** The Jackson 2 form of the app's naming strategy: the same translation of a Java name to a JSON name. */
    private static com.fasterxml.jackson.databind.PropertyNamingStrategy jackson2(PropertyNamingStrategy wire) {
        if (wire == null) {
            return null;
        }
        if (!(wire instanceof PropertyNamingStrategies.NamingBase naming)) {
            // a strategy that needs the member or the config can't be replayed here: better no start than wrong docs
            throw new IllegalStateException("OpenAPI names can't follow the naming strategy " + wire.getClass().getName());
        }
        return new com.fasterxml.jackson.databind.PropertyNamingStrategies.NamingBase() {
            @Override
            public String translate(String name) {
                return naming.nameForField(null, null, name);
            }
        };
    }

    /**
     * What a route's handler tells: a JSON body read by Spring ({@code @RequestBody}) can be too large (413) or of
     * another type (415); and every error status it declares answers a problem, although springdoc gives it the
     * handler's return type.
     */
    @Bean
    OperationCustomizer routeResponses() {
        return (operation, handler) -> {
            boolean readsBody = List.of(handler.getMethodParameters()).stream()
                    .anyMatch(parameter -> parameter.hasParameterAnnotation(RequestBody.class));
            if (readsBody) {
                operation.getResponses().putIfAbsent("413", new ApiResponse()
                        .description("The body exceeds 64 KiB (payload_too_large)"));
                operation.getResponses().putIfAbsent("415", new ApiResponse()
                        .description("The body is not application/json (unsupported_media_type)"));
                operation.getResponses().putIfAbsent("408", new ApiResponse()
                        .description("The body took longer than 10 s to arrive (request_timeout)"));
            }
            operation.getResponses().forEach((status, response) -> {
                if (isError(status)) {
                    response.setContent(problemContent());
                }
            });
            return operation;
        };
    }

    /**
     * What every route shares: 400 (an ambiguous path is refused on every route, {@link PathGuardFilter}), 406 and 500,
     * and the problem shape of every error answer that has no other ({@link ProblemAdvice}, {@link Problems}); and
     * the rule that a response field is always present (the app writes nulls,
     * {@code spring.jackson.default-property-inclusion: always}). springdoc applies its customizers in no set order,
     * so this one relies on none.
     */
    @Bean
    OpenApiCustomizer sharedResponses() {
        return openApi -> {
            openApi.getComponents().addSchemas(FIELD_PROBLEM, fieldProblem()).addSchemas(PROBLEM, problem());
            openApi.getPaths().values().forEach(path -> path.readOperations().forEach(operation -> {
                ApiResponses responses = operation.getResponses();
                responses.putIfAbsent("400", new ApiResponse().description(BAD_REQUEST));
                responses.putIfAbsent("500", new ApiResponse().description(INTERNAL_ERROR));
                responses.putIfAbsent("406", new ApiResponse().description(NOT_ACCEPTABLE));
                responses.forEach((status, response) -> {
                    if (isError(status) && (response.getContent() == null || response.getContent().isEmpty())) {
                        response.setContent(problemContent());
                    }
                });
            }));
            requireAlwaysWrittenFields(openApi);
            dropUnusedSchemas(openApi);
        };
    }

    private static boolean isError(String status) {
        return status.startsWith("4") || status.startsWith("5");
    }

    static Content problemContent() {
        return new Content().addMediaType(MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                new io.swagger.v3.oas.models.media.MediaType().schema(ref(PROBLEM)));
    }

    private static Schema<?> fieldProblem() {
        return new ObjectSchema()
                .addProperty("field", new StringSchema().description("The JSON path, query parameter or header at fault")
                        .example("input.video.video_url"))
                .addProperty("message", new StringSchema().example("must be an absolute http or https URL"))
                .required(List.of("field", "message"));
    }

    private static Schema<?> problem() {
        return new ObjectSchema()
                .description("RFC 9457 problem details")
                .addProperty("type", new StringSchema().format("uri")
                        .description("https://falgate.dev/problems/ followed by `code`")
                        .example("https://falgate.dev/problems/validation_failed"))
                .addProperty("title", new StringSchema().example("Validation failed"))
                .addProperty("status", new IntegerSchema().example(400))
                .addProperty("detail", new StringSchema().example("The request has 1 invalid field(s); see errors."))
                .addProperty("instance", new StringSchema().description("The request's path").example("/v1/jobs"))
                .addProperty("code", new StringSchema().description("Stable machine code").example("validation_failed"))
                .addProperty("errors", new ArraySchema().items(ref(FIELD_PROBLEM))
                        .description("Every offending field at once; empty when the problem is not about a field"))
                .required(List.of("type", "title", "status", "detail", "code", "errors"));
    }

    /**
     * Marks every field of the response-only schemas from the app's records required: they are written null or not,
     * so callers (and generated clients) may rely on each key. Schemas that state their own required fields, and
     * those a request body uses (where fields are optional), are left as they are.
     */
    private static void requireAlwaysWrittenFields(OpenAPI openApi) {
        Map<String, Schema> schemas = openApi.getComponents().getSchemas();
        Set<String> inRequests = new HashSet<>();
        openApi.getPaths().values().forEach(path -> path.readOperations().forEach(operation -> {
            if (operation.getRequestBody() != null && operation.getRequestBody().getContent() != null) {
                operation.getRequestBody().getContent().values()
                        .forEach(media -> collectReferenced(media.getSchema(), schemas, inRequests));
            }
        }));
        schemas.forEach((name, schema) -> {
            if (!inRequests.contains(name) && schema.getProperties() != null && schema.getRequired() == null) {
                schema.setRequired(new ArrayList<>(schema.getProperties().keySet()));
            }
        });
    }

    /**
     * A schema no route uses is noise (springdoc registers a handler's return type, e.g. {@code SseEmitter}, even where
     * the route documents its own content).
     */
    private static void dropUnusedSchemas(OpenAPI openApi) {
        Map<String, Schema> schemas = openApi.getComponents().getSchemas();
        Set<String> used = new HashSet<>();
        openApi.getPaths().values().forEach(path -> path.readOperations().forEach(operation -> {
            List<io.swagger.v3.oas.models.media.MediaType> media = new ArrayList<>();
            if (operation.getRequestBody() != null && operation.getRequestBody().getContent() != null) {
                media.addAll(operation.getRequestBody().getContent().values());
            }
            operation.getResponses().values().stream().filter(response -> response.getContent() != null)
                    .forEach(response -> media.addAll(response.getContent().values()));
            media.forEach(type -> collectReferenced(type.getSchema(), schemas, used));
            if (operation.getParameters() != null) {
                operation.getParameters().forEach(parameter -> collectReferenced(parameter.getSchema(), schemas, used));
            }
        }));
        schemas.keySet().retainAll(used);
    }

    @SuppressWarnings("rawtypes") // swagger's models hand out raw Schema lists and maps
    private static void collectReferenced(Schema<?> schema, Map<String, Schema> schemas, Set<String> names) {
        if (schema == null) {
            return;
        }
        if (schema.get$ref() != null) {
            String name = schema.get$ref().substring(schema.get$ref().lastIndexOf('/') + 1);
            if (names.add(name)) {
                collectReferenced(schemas.get(name), schemas, names);
            }
            return;
        }
        List<Schema> children = new ArrayList<>();
        if (schema.getProperties() != null) {
            children.addAll(schema.getProperties().values());
        }
        children.add(schema.getItems());
        if (schema.getAdditionalProperties() instanceof Schema<?> values) {
            children.add(values);
        }
        for (List<Schema> parts : Arrays.asList(schema.getAllOf(), schema.getAnyOf(), schema.getOneOf())) {
            if (parts != null) {
                children.addAll(parts);
            }
        }
        children.forEach(child -> collectReferenced(child, schemas, names));
    }

    static Schema<?> ref(String component) {
        return new Schema<>().$ref("#/components/schemas/" + component);
    }
}
