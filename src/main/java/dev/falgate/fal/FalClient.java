package dev.falgate.fal;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLHandshakeException;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.stereotype.Component;
import org.springframework.util.Assert;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.util.UriComponentsBuilder;
import reactor.netty.http.client.HttpClient;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.NullNode;

/**
 * Speaks fal's queue protocol (submit, status, result) and nothing else. Every answer becomes a typed
 * outcome; the decisive line is between an HTTP answer (fal told us what it did) and a transport
 * failure after the request left (fal may hold a request we know nothing of).
 */
@Component
public class FalClient {

    private static final Logger log = LoggerFactory.getLogger(FalClient.class);
    private static final int MAX_ANSWER_BYTES = 1024 * 1024;
    /** Requests per listing page: with their inputs (prompts up to 4,000 characters) well under the answer cap. */
    private static final int LISTING_PAGE = 50;
    /** Histogram buckets for fal call latency: a few, so p50/p99 can be read without a series per millisecond. */
    private static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};

    /** Where fal's webhooks for a job arrive, under {@code FALGATE_PUBLIC_URL}; the job's id is the last segment. */
    public static final String WEBHOOK_PATH = "/fal/webhooks/";

    static final String OUTPUT_LIFECYCLE = "X-Fal-Object-Lifecycle-Preference";

    private final FalSettings settings;
    private final JsonMapper json;
    private final WebClient web;
    private final FalAccessMonitor access;
    private final MeterRegistry meters;

    FalClient(FalSettings settings, WebClient.Builder builder, JsonMapper json, FalAccessMonitor access,
            MeterRegistry meters) {
        this.meters = meters;
        Assert.hasText(settings.key(), "FAL_KEY is required"); // checked before start-up by RequiredSettings
        this.settings = settings;
        this.json = json;
        this.access = access;
        HttpClient http = HttpClient.create()
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, Math.toIntExact(settings.connectTimeout().toMillis()))
                .responseTimeout(settings.responseTimeout());
        this.web = builder.clone()
                .clientConnector(new ReactorClientHttpConnector(http))
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Key " + settings.key().strip())
                .codecs(codecs -> codecs.defaultCodecs().maxInMemorySize(MAX_ANSWER_BYTES))
                .build();
    }

    /**
     * A client of the sandbox's built-in simulator ({@code sandbox.Sandbox}): fal's protocol at {@code baseUrl}, with
     * the simulator's own key, no webhooks, and its calls kept out of fal's metrics and health. It never reaches fal.
     */
    public static FalClient ofSimulator(URI baseUrl, String key, WebClient.Builder builder, JsonMapper json,
            Clock clock) {
        SimpleMeterRegistry unexported = new SimpleMeterRegistry();
        FalSettings settings = new FalSettings(key, baseUrl, "fal-ai/ltx-video-v097/extend", Duration.ofSeconds(5),
                Duration.ofSeconds(30), null, URI.create(baseUrl + "/v1"), null, null);
        return new FalClient(settings, builder, json, new FalAccessMonitor(clock, unexported), unexported);
    }

    public String endpointId() {
        return settings.endpointId();
    }

    /** Whether submits ask fal for a webhook ({@code FALGATE_PUBLIC_URL} is set). */
    public boolean webhooksEnabled() {
        return settings.publicUrl() != null;
    }

    /**
     * {@code POST {queue}/{endpoint}} with the model input as the body. With a public URL configured the job's
     * own id rides in {@code fal_webhook}, so fal's webhook names the job even when this answer is lost.
     */
    public SubmitOutcome submit(String inputJson, UUID jobId) {
        UriComponentsBuilder uri = UriComponentsBuilder.fromUri(settings.queueUrl()).path("/" + settings.endpointId());
        if (settings.publicUrl() != null) {
            String base = settings.publicUrl().toString().replaceAll("/+$", "");
            uri.queryParam("fal_webhook", base + WEBHOOK_PATH + jobId);
        }
        Answer answer;
        try {
            answer = call("submit", HttpMethod.POST, uri.encode().build().toUri(), inputJson, submitHeaders());
        } catch (TransportFailure e) {
            return e.sent ? new SubmitOutcome.Unknown(e.getMessage())
                    : new SubmitOutcome.Retryable(e.getMessage(), null, null, false);
        }
        if (answer.status >= 200 && answer.status < 300) {
            return accepted(answer);
        }
        if (!answer.isFalsOwnError()) {
            // An intermediary's page (a 502/504 from a load balancer), a redirect, an empty body: nothing says fal
            // did not create the request, so it may exist. See docs/fal-outcomes.md.
            return new SubmitOutcome.Unknown("fal's side answered HTTP " + answer.status + " without fal's error body");
        }
        if (answer.status == 401 || answer.status == 403) {
            return new SubmitOutcome.Retryable("fal refused our key or account (HTTP " + answer.status + "): "
                    + text(answer.body.path("detail")), answer.status, null, true);
        }
        if (answer.status == 429 || answer.status >= 500) {
            return new SubmitOutcome.Retryable("fal answered HTTP " + answer.status, answer.status,
                    answer.retryAfter(), false);
        }
        if (answer.status >= 400) {
            return new SubmitOutcome.Rejected(answer.status, answer.detail(), answer.errorType());
        }
        return new SubmitOutcome.Unknown("fal answered HTTP " + answer.status + " to a submit");
    }

    /** {@code GET status_url?logs=0}. */
    public StatusOutcome status(FalRequest request) {
        URI url = UriComponentsBuilder.fromUri(followUp(request.statusUrl(), request.requestId(), "/status"))
                .replaceQueryParam("logs", "0").build(true).toUri();
        Answer answer;
        try {
            answer = call("status", HttpMethod.GET, url, null);
        } catch (TransportFailure e) {
            return new StatusOutcome.Unavailable(e.getMessage());
        }
        if (answer.status == 404 && answer.isFalsOwnError()) {
            return new StatusOutcome.NotFound();
        }
        if (answer.status < 200 || answer.status >= 300) {
            return new StatusOutcome.Unavailable("fal answered HTTP " + answer.status + " to a status call");
        }
        JsonNode body = answer.body;
        return switch (body.path("status").asString("")) {
            case "IN_QUEUE" -> new StatusOutcome.InQueue(intOrNull(body.path("queue_position")));
            case "IN_PROGRESS" -> new StatusOutcome.InProgress();
            case "COMPLETED" -> new StatusOutcome.Completed(
                    body.hasNonNull("error") ? text(body.get("error")) : null,
                    body.hasNonNull("error_type") ? text(body.get("error_type")) : null,
                    body.path("metrics").path("inference_time").isNumber()
                            ? body.path("metrics").path("inference_time").decimalValue() : null);
            default -> new StatusOutcome.Unavailable("fal sent an unknown status: " + abbreviated(body.path("status")));
        };
    }

    /** {@code GET response_url}: the model's output or its error, with what fal billed. */
    public ResultOutcome result(FalRequest request) {
        Answer answer;
        try {
            answer = call("result", HttpMethod.GET, followUp(request.responseUrl(), request.requestId(), ""), null);
        } catch (TransportFailure e) {
            return new ResultOutcome.Unavailable(e.getMessage());
        }
        if (answer.status >= 200 && answer.status < 300 && answer.body.isObject()) {
            return new ResultOutcome.Output(answer.body, answer.billableUnits());
        }
        if (answer.isModelError()) {
            return new ResultOutcome.ModelError(answer.status, answer.detail(), answer.errorType(),
                    answer.billableUnits());
        }
        // A redirect, a 404 or 400 after COMPLETED, a proxy's page, a 5xx without fal's error type: the result is
        // not known yet, and the job (which fal may have billed) must not end on it. Asked again until the deadline.
        return new ResultOutcome.Unavailable("fal answered HTTP " + answer.status + " to a result call");
    }

    /** {@code PUT cancel_url}. Safe to repeat; only {@link CancelOutcome#UNAVAILABLE} calls for another try. */
    public CancelOutcome cancel(FalRequest request) {
        Answer answer;
        try {
            answer = call("cancel", HttpMethod.PUT, followUp(request.cancelUrl(), request.requestId(), "/cancel"), null);
        } catch (TransportFailure e) {
            return CancelOutcome.UNAVAILABLE;
        }
        if (answer.status >= 200 && answer.status < 300) {
            return CancelOutcome.REQUESTED;
        }
        if (answer.status == 400 && answer.body.path("status").asString("").equals("ALREADY_COMPLETED")) {
            return CancelOutcome.ALREADY_COMPLETED;
        }
        return answer.status == 404 && answer.isFalsOwnError() ? CancelOutcome.NOT_FOUND : CancelOutcome.UNAVAILABLE;
    }

    /** Our fal account's user id ({@code FAL_USER_ID}), or null when not configured. */
    public String userId() {
        return settings.userId() == null || settings.userId().isBlank() ? null : settings.userId().strip();
    }

    /**
     * One page of fal's Platform API listing of our requests to the endpoint started in [{@code start},
     * {@code end}), newest first, with the input each received: how a submit whose answer was lost is found
     * without sending it again. Any answer but a well-formed page is {@link ListingOutcome.Unavailable}.
     */
    public ListingOutcome listRequests(Instant start, Instant end, String cursor) {
        UriComponentsBuilder uri = UriComponentsBuilder.fromUri(settings.apiUrl())
                .path("/models/requests/by-endpoint")
                .queryParam("endpoint_id", settings.endpointId())
                .queryParam("start", start.toString())
                .queryParam("end", end.toString())
                .queryParam("limit", LISTING_PAGE)
                .queryParam("expand", "payloads");
        if (cursor != null) {
            uri.queryParam("cursor", cursor);
        }
        Answer answer;
        try {
            answer = call("list", HttpMethod.GET, uri.encode().build().toUri(), null);
        } catch (TransportFailure e) {
            return new ListingOutcome.Unavailable(e.getMessage());
        }
        if (answer.status < 200 || answer.status >= 300 || !answer.body.path("items").isArray()) {
            return new ListingOutcome.Unavailable("fal answered HTTP " + answer.status + " to the request listing");
        }
        List<ListingOutcome.Listed> items = new ArrayList<>();
        for (JsonNode item : answer.body.path("items")) {
            if (item.path("request_id").isString()) {
                items.add(new ListingOutcome.Listed(item.path("request_id").asString(), instantOrNull(item.path("started_at")),
                        item.path("json_input")));
            }
        }
        JsonNode next = answer.body.path("next_cursor");
        boolean more = answer.body.path("has_more").asBoolean(false) && next.isString() && !next.asString().isEmpty();
        return new ListingOutcome.Page(items, more ? next.asString() : null);
    }

    private static Instant instantOrNull(JsonNode node) {
        try {
            return node.isString() ? OffsetDateTime.parse(node.asString()).toInstant() : null;
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /**
     * fal asks us to use the URLs it returned. We do, but only on fal's own origin: the key rides on every
     * call, so a URL elsewhere is replaced by the one the protocol defines for the request id.
     */
    private URI followUp(URI given, String requestId, String suffix) {
        URI queue = settings.queueUrl();
        if (given != null && Objects.equals(given.getScheme(), queue.getScheme())
                && Objects.equals(given.getHost(), queue.getHost()) && given.getPort() == queue.getPort()) {
            return given;
        }
        String app = settings.endpointId().split("/").length > 2
                ? settings.endpointId().substring(0, settings.endpointId().lastIndexOf('/')) : settings.endpointId();
        return UriComponentsBuilder.fromUri(queue).path("/" + app + "/requests/{id}" + suffix)
                .buildAndExpand(requestId).encode().toUri();
    }

    private SubmitOutcome accepted(Answer answer) {
        JsonNode body = answer.body;
        String requestId = body.path("request_id").isString() ? body.path("request_id").asString() : "";
        if (requestId.isBlank()) {
            // A 2xx without an id: fal did something we cannot follow. Treat as unknown, never as "not created".
            return new SubmitOutcome.Unknown("fal answered HTTP " + answer.status + " without a request_id");
        }
        FalRequest request = new FalRequest(requestId, uri(body.path("status_url")), uri(body.path("response_url")),
                uri(body.path("cancel_url")));
        return new SubmitOutcome.Accepted(request, intOrNull(body.path("queue_position")));
    }

    /** A number that fits an int, else null: a field we only display must never lose the request id around it. */
    private static Integer intOrNull(JsonNode node) {
        return node.isIntegralNumber() && node.canConvertToInt() ? node.asInt() : null;
    }

    private static String abbreviated(JsonNode node) {
        String text = node.toString();
        return text.length() > 100 ? text.substring(0, 100) + "..." : text;
    }

    /**
     * With {@code FALGATE_FAL_OUTPUT_TTL} set, fal keeps the output files that long (fal's object lifecycle
     * preference); the archive's copy is what callers use after that.
     */
    private HttpHeaders submitHeaders() {
        HttpHeaders headers = new HttpHeaders();
        if (settings.outputTtl() != null) {
            headers.set(OUTPUT_LIFECYCLE, "{\"expiration_duration_seconds\": " + settings.outputTtl().toSeconds() + "}");
        }
        return headers;
    }

    private Answer call(String operation, HttpMethod method, URI url, String body) {
        return call(operation, method, url, body, HttpHeaders.EMPTY);
    }

    /** One call to fal, timed into {@code falgate.fal.calls} by operation and outcome (HTTP status class or transport). */
    private Answer call(String operation, HttpMethod method, URI url, String body, HttpHeaders headers) {
        long started = System.nanoTime();
        String outcome = "transport_error";
        try {
            Answer answer = exchange(method, url, body, headers);
            outcome = answer.status / 100 + "xx";
            return answer;
        } finally {
            Timer.builder("falgate.fal.calls").description("Calls to fal's queue API")
                    .tag("operation", operation).tag("outcome", outcome)
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(meters)
                    .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        }
    }

    private Answer exchange(HttpMethod method, URI url, String body, HttpHeaders headers) {
        WebClient.RequestBodySpec spec = web.method(method).uri(url).accept(MediaType.APPLICATION_JSON)
                .headers(all -> all.addAll(headers));
        WebClient.RequestHeadersSpec<?> request = body == null ? spec
                : spec.contentType(MediaType.APPLICATION_JSON).bodyValue(body);
        try {
            Answer answer = request.exchangeToMono(response -> response.bodyToMono(String.class).defaultIfEmpty("")
                            .map(text -> new Answer(response.statusCode().value(), response.headers().asHttpHeaders(),
                                    parse(text))))
                    .timeout(settings.responseTimeout().plus(settings.connectTimeout()))
                    .onErrorMap(e -> !(e instanceof TransportFailure), TransportFailure::of)
                    .block();
            access.answered(answer.status);
            return answer;
        } catch (TransportFailure e) {
            log.debug("fal {} call failed before an answer: {}", method, e.getMessage());
            throw e;
        } catch (RuntimeException e) {
            // block() rethrows checked causes wrapped; classify what is inside.
            throw TransportFailure.of(e);
        }
    }

    private JsonNode parse(String text) {
        if (text.isBlank()) {
            return NullNode.getInstance();
        }
        try {
            return json.readTree(text);
        } catch (JacksonException e) {
            return json.getNodeFactory().stringNode(text.length() > 2000 ? text.substring(0, 2000) : text);
        }
    }

    private static URI uri(JsonNode node) {
        try {
            return node.isString() ? URI.create(node.asString()) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String text(JsonNode node) {
        return node.isString() ? node.asString() : node.toString();
    }

    /** An HTTP answer from fal: status, headers and the body parsed as JSON where it is JSON. */
    private record Answer(int status, HttpHeaders headers, JsonNode body) {

        /**
         * fal's own JSON error answer ({@code {"detail": ...}}): only this proves fal itself answered, and so for a
         * submit that it created nothing. An intermediary's HTML page proves nothing.
         */
        boolean isFalsOwnError() {
            return body.isObject() && body.has("detail");
        }

        /** The model's own error for a finished request: fal's 422, or any error fal labels with its error type. */
        boolean isModelError() {
            boolean labelled = headers.getFirst("X-Fal-Error-Type") != null;
            return (status == 422 && isFalsOwnError())
                    || (labelled && status >= 400 && status != 401 && status != 403 && status != 429);
        }

        JsonNode detail() {
            return body.has("detail") ? body.get("detail") : body;
        }

        String errorType() {
            String header = headers.getFirst("X-Fal-Error-Type");
            if (header != null) {
                return header;
            }
            return body.hasNonNull("error_type") ? text(body.get("error_type")) : null;
        }

        BigDecimal billableUnits() {
            String units = headers.getFirst("x-fal-billable-units");
            try {
                BigDecimal parsed = units == null ? null : new BigDecimal(units.strip());
                // what fal billed is never negative; anything else is noise, not a bill
                return parsed == null || parsed.signum() < 0 || parsed.precision() - parsed.scale() > 12 ? null : parsed;
            } catch (NumberFormatException e) {
                return null;
            }
        }

        Duration retryAfter() {
            String value = headers.getFirst(HttpHeaders.RETRY_AFTER);
            try {
                return value == null ? null : Duration.ofSeconds(Long.parseLong(value.strip()));
            } catch (NumberFormatException e) {
                return null; // an HTTP-date; our own backoff applies
            }
        }
    }

    /** No HTTP answer. {@code sent} tells whether the request may have reached fal. */
    private static final class TransportFailure extends RuntimeException {

        final boolean sent;

        private TransportFailure(String message, boolean sent) {
            super(message, null, false, false);
            this.sent = sent;
        }

        static TransportFailure of(Throwable e) {
            if (e instanceof TransportFailure failure) {
                return failure;
            }
            boolean sent = true;
            String reason = e.getClass().getSimpleName();
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ConnectException || t instanceof ConnectTimeoutException
                        || t instanceof UnknownHostException || t instanceof UnresolvedAddressException
                        || t instanceof NoRouteToHostException || t instanceof SSLHandshakeException) {
                    sent = false;
                    reason = "could not connect to fal (" + t.getClass().getSimpleName() + ")";
                    break;
                }
                if (t instanceof TimeoutException || t.getClass().getSimpleName().contains("Timeout")) {
                    reason = "no answer from fal in time (" + t.getClass().getSimpleName() + ")";
                } else if (t instanceof IOException) {
                    reason = "connection to fal broke (" + t.getClass().getSimpleName() + ")";
                }
            }
            return new TransportFailure(reason, sent);
        }
    }
}
