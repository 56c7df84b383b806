package dev.falgate;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.interaction.ApiOperationResolver;
import com.atlassian.oai.validator.model.ApiOperationMatch;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.parser.OpenAPIV3Parser;

/**
 * The served OpenAPI document as a contract the suite enforces: every answer a test receives through
 * {@link IntegrationTest#send} is validated against {@code /v3/api-docs} of the gateway that gave it (read once per
 * port) with swagger-request-validator. Only responses are checked: tests send invalid requests on purpose. An answer
 * to a path or method the document does not describe (an ambiguous or unknown path, a wrong method) can't be checked
 * against it; those are counted and logged, each distinct one once.
 */
public final class ApiContract {

    private static final Map<Integer, ApiContract> BY_PORT = new ConcurrentHashMap<>();
    private static final Logger log = LoggerFactory.getLogger(ApiContract.class);
    private static final HttpClient http = HttpClient.newHttpClient();
    private static final AtomicLong validated = new AtomicLong();
    private static final AtomicLong unchecked = new AtomicLong();
    private static final Set<String> undocumented = ConcurrentHashMap.newKeySet();

    private final String document;
    private final OpenApiInteractionValidator validator;
    private final ApiOperationResolver operations;

    private ApiContract(String document) {
        this.document = document;
        this.validator = OpenApiInteractionValidator.createForInlineApiSpecification(document).build();
        OpenAPI api = new OpenAPIV3Parser().readContents(document).getOpenAPI();
        this.operations = new ApiOperationResolver(api, null, false);
    }

    /** The document the gateway on {@code port} serves. */
    public static ApiContract servedOn(int port) {
        return BY_PORT.computeIfAbsent(port, ApiContract::fetch);
    }

    private static ApiContract fetch(int port) {
        try {
            HttpResponse<String> docs = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v3/api-docs")).build(), HttpResponse.BodyHandlers.ofString());
            if (docs.statusCode() != 200) {
                throw new IllegalStateException("GET /v3/api-docs answered " + docs.statusCode() + ": " + docs.body());
            }
            return new ApiContract(docs.body());
        } catch (Exception e) {
            throw new IllegalStateException("The OpenAPI document of port " + port + " could not be read", e);
        }
    }

    public String document() {
        return document;
    }

    /** The documented operation ({@code "GET /v1/jobs/{id}"}) a request is answered by, if the document has one. */
    public Optional<String> operationOf(String method, String rawPath) {
        Request.Method verb;
        try {
            verb = Request.Method.valueOf(method);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        ApiOperationMatch match = operations.findApiOperation(rawPath, verb);
        if (!match.isPathFound() || !match.isOperationAllowed()) {
            return Optional.empty();
        }
        return Optional.of(method + " " + match.getApiOperation().getApiPath().original());
    }

    /** Fails, naming every violation, when the answer does not conform to the operation the document gives it. */
    public void check(HttpRequest request, HttpResponse<String> response) {
        String path = request.uri().getRawPath();
        if (operationOf(request.method(), path).isEmpty()) {
            unchecked.incrementAndGet();
            if (undocumented.add(request.method() + " " + path)) {
                log.info("Not checked against the API document, which has no {} {} ({} answers checked, {} not so far)",
                        request.method(), path, validated.get(), unchecked.get());
            }
            return;
        }
        SimpleResponse.Builder answer = SimpleResponse.Builder.status(response.statusCode()).withBody(response.body());
        response.headers().map().forEach(answer::withHeader);
        ValidationReport report = validator.validateResponse(path, Request.Method.valueOf(request.method()),
                answer.build());
        validated.incrementAndGet();
        if (report.hasErrors()) {
            String body = response.body() == null ? "" : response.body();
            throw new AssertionError("The answer to " + request.method() + " " + request.uri().getRawPath()
                    + " does not conform to the served OpenAPI document:\n"
                    + report.getMessages().stream()
                            .map(message -> "  - [" + message.getKey() + "] " + message.getMessage()
                                    + message.getContext().flatMap(ValidationReport.MessageContext::getPointers)
                                            .map(pointers -> " (at " + pointers.getInstance() + ")").orElse(""))
                            .collect(Collectors.joining("\n"))
                    + "\n  status " + response.statusCode() + ", Content-Type "
                    + response.headers().firstValue("Content-Type").orElse("(none)")
                    + ", body: " + (body.length() > 2000 ? body.substring(0, 2000) + "..." : body));
        }
    }
}
