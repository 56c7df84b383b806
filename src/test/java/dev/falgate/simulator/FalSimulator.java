package dev.falgate.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * fal's queue API as falgate meets it, at the HTTP level: submit, status, result and cancel under
 * {@code /fal-ai/ltx-video-v097}, with fal's status codes and failure shapes (fal-protocol.md).
 * Requests move IN_QUEUE → IN_PROGRESS → COMPLETED on the simulator's clock ({@link #setTiming}).
 * Scripted faults ({@link #failNextSubmits}) and prompt markers drive failures:
 * {@code [sim:reject]} is answered 422 on submit, {@code [sim:fail]} completes with the model's error.
 * Used by the tests and by the local profile; never part of the packaged gateway.
 */
public final class FalSimulator implements AutoCloseable {

    public static final String APP = "/fal-ai/ltx-video-v097";
    public static final String SUBMIT_PATH = APP + "/extend";
    public static final String JWKS_PATH = "/.well-known/jwks.json";
    public static final String USER_ID = "simulated-fal-user";
    private static final Pattern REQUEST_PATH = Pattern.compile(APP + "/requests/([^/]+)(/status|/cancel)?");

    static {
        // The JDK's HttpServer writes a response's headers and body separately and leaves Nagle's algorithm on:
        // the body then waits for the client's delayed ACK, 40 ms on Linux, on every call over a kept-alive
        // connection (44 ms per status call, against 1 ms with this). fal answers without such a delay, and a
        // benchmark must not charge it to the gateway. Read once, when the first HttpServer is made.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    /** What a scripted submit fault does. */
    public enum Fault {
        /** 500: fal created nothing. */
        SERVER_ERROR,
        /** 503 with Retry-After: 1. */
        UNAVAILABLE,
        /** 429 with Retry-After: 1. */
        RATE_LIMITED,
        /** 401: bad key. */
        UNAUTHORIZED,
        /** 403: account locked, out of balance. */
        LOCKED,
        /** The connection is closed without an answer and nothing is created: to falgate as unknown as LOSE_ANSWER. */
        DROP_WITHOUT_CREATING,
        /** The request is created, then the connection is closed without an answer: the "unknown" submit. */
        LOSE_ANSWER,
        /** 429 with Retry-After: 120. */
        SLOW_DOWN,
        /** 500, but only after a second: the gateway's lease may lapse meanwhile. */
        SLOW_SERVER_ERROR
    }

    /** Random faults for everything a marker's jobs do at fal: submits, and the status and result calls after. */
    private record Chaos(Random random, double rate) {

        boolean strikes() {
            return random.nextDouble() < rate;
        }

        <T> T pick(List<T> choices) {
            return choices.get(random.nextInt(choices.size()));
        }
    }

    private static final List<Fault> CHAOS_SUBMIT_FAULTS = List.of(Fault.SERVER_ERROR, Fault.UNAVAILABLE,
            Fault.RATE_LIMITED, Fault.LOCKED, Fault.DROP_WITHOUT_CREATING, Fault.LOSE_ANSWER);

    /** One HTTP request as the simulator received it. */
    public record Received(String method, String path, String query, Map<String, String> headers, String body) {

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private static final class FalRequestState {
        final String id;
        final Instant createdAt;
        final Duration queueTime;
        final Duration runTime;
        final boolean fails;
        final long seed;
        final String webhookUrl;
        volatile String chaosMarker;
        volatile boolean cancelled;
        volatile boolean webhookDelivered;
        volatile Instant webhookDeliveredAt;

        FalRequestState(String id, Instant createdAt, Duration queueTime, Duration runTime, boolean fails, long seed,
                String webhookUrl) {
            this.id = id;
            this.createdAt = createdAt;
            this.queueTime = queueTime;
            this.runTime = runTime;
            this.fails = fails;
            this.seed = seed;
            this.webhookUrl = webhookUrl;
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final String expectedKey;
    private final JsonMapper json = JsonMapper.builder().build();
    private final Map<String, FalRequestState> requests = new ConcurrentHashMap<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Fault>> scriptedFaults = new ConcurrentHashMap<>();
    private volatile CountDownLatch resultsHeld;
    private final Map<String, Chaos> chaos = new ConcurrentHashMap<>();
    private final Random random = new Random();
    private final List<KeyPair> signingKeys = new CopyOnWriteArrayList<>(List.of(newKeyPair()));
    private final HttpClient webhookClient = HttpClient.newHttpClient();
    /** Stats cover the requests created since (benchmarks: the end of the warm-up). */
    private volatile Instant measuredFrom = Instant.EPOCH;
    private volatile Duration queueTime = Duration.ZERO;
    private volatile Duration runTime = Duration.ZERO;

    private FalSimulator(int port, String expectedKey) throws IOException {
        this.expectedKey = expectedKey;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 512);
        this.executor = Executors.newFixedThreadPool(16, task -> {
            Thread thread = new Thread(task, "fal-simulator");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext(APP, this::handle);
        server.createContext(JWKS_PATH, this::jwks);
        server.start();
    }

    /** Starts on {@code port} (0: any free port), accepting only {@code Authorization: Key <expectedKey>}. */
    public static FalSimulator start(int port, String expectedKey) {
        try {
            return new FalSimulator(port, expectedKey);
        } catch (IOException e) {
            throw new IllegalStateException("fal simulator could not listen on port " + port, e);
        }
    }

    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** How long new requests wait in the queue and then run before they complete. */
    public FalSimulator setTiming(Duration queueTime, Duration runTime) {
        this.queueTime = queueTime;
        this.runTime = runTime;
        return this;
    }

    /**
     * The next submits whose body contains {@code marker} meet these faults, in order; later ones are served
     * normally. Scoped by a marker so other jobs in the same database are never hit by a test's faults.
     */
    public void failNextSubmits(String marker, Fault... faults) {
        scriptedFaults.computeIfAbsent(marker, key -> new ConcurrentLinkedDeque<>()).addAll(List.of(faults));
    }

    /**
     * From now on, a share {@code rate} of the submits carrying {@code marker} meet a random fault (5xx, 429,
     * 403, a dropped connection, a lost answer), and so do the status and result calls of their requests
     * (500 or a dropped connection). Seeded, so a failing run can be replayed.
     */
    public void chaos(String marker, long seed, double rate) {
        chaos.put(marker, new Chaos(new Random(seed), rate));
    }

    /** Ends the chaos for {@code marker}: fal answers its jobs' calls normally again. */
    public void calm(String marker) {
        chaos.remove(marker);
    }

    /** Result calls wait (at most 10 s) until the returned handle is closed: a slow fal, for tests of concurrency. */
    public AutoCloseable holdResults() {
        CountDownLatch held = new CountDownLatch(1);
        resultsHeld = held;
        return () -> {
            resultsHeld = null;
            held.countDown();
        };
    }

    /** Forgets what was received and scripted (the requests fal holds stay). */
    public void reset() {
        received.clear();
        scriptedFaults.clear();
        chaos.clear();
        queueTime = Duration.ZERO;
        runTime = Duration.ZERO;
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    public List<Received> submissions() {
        return received.stream().filter(r -> r.method().equals("POST") && r.path().equals(SUBMIT_PATH)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // --- webhooks (fal -> gateway) -------------------------------------------------------------------

    /** The JWKS URL the gateway should trust ({@code FALGATE_FAL_JWKS_URL}). */
    public URI jwksUrl() {
        return URI.create(baseUrl() + JWKS_PATH);
    }

    /** fal rotates its key: new deliveries are signed with a new key, which the JWKS lists beside the old one. */
    public void rotateSigningKey() {
        signingKeys.add(newKeyPair());
    }

    /**
     * Delivers fal's webhook for every finished request that asked for one and has not had it yet, to the
     * URL it gave with its scheme, host and port replaced by {@code gateway}. Returns how many were delivered.
     */
    public int deliverFinishedWebhooks(URI gateway, Instant timestamp) {
        int delivered = 0;
        for (FalRequestState request : requests.values()) {
            if (request.webhookUrl != null && !request.webhookDelivered && stateOf(request).equals("COMPLETED")) {
                Instant sent = Instant.now();
                if (deliverWebhook(request.id, gateway, timestamp) == 200) {
                    request.webhookDelivered = true;
                    request.webhookDeliveredAt = sent;
                    delivered++;
                }
            }
        }
        return delivered;
    }

    /** Delivers (again) the webhook of one request, signed as fal signs it; returns the gateway's status code. */
    public int deliverWebhook(String requestId, URI gateway, Instant timestamp) {
        FalRequestState request = requests.get(requestId);
        byte[] body = json.writeValueAsBytes(webhookBody(request));
        return postWebhook(URI.create(gateway + URI.create(request.webhookUrl).getRawPath()), requestId, body,
                Long.toString(timestamp.getEpochSecond()), sign(requestId, Long.toString(timestamp.getEpochSecond()), body));
    }

    /** Posts a webhook with the given (possibly wrong) parts, for tests of the gateway's checks. */
    public int postWebhook(URI url, String requestId, byte[] body, String timestamp, String signatureHex) {
        HttpRequest.Builder post = HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (requestId != null) {
            post.header("X-Fal-Webhook-Request-Id", requestId).header("X-Fal-Webhook-User-Id", USER_ID);
        }
        if (timestamp != null) {
            post.header("X-Fal-Webhook-Timestamp", timestamp);
        }
        if (signatureHex != null) {
            post.header("X-Fal-Webhook-Signature", signatureHex);
        }
        try {
            return webhookClient.send(post.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The hex ED25519 signature fal puts on a delivery, made with the newest key. */
    public String sign(String requestId, String timestamp, byte[] body) {
        try {
            String message = requestId + "\n" + USER_ID + "\n" + timestamp + "\n"
                    + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
            // the JDK's Ed25519 is slow enough to make the simulator a bottleneck of the benchmarks
            byte[] pkcs8 = signingKeys.get(signingKeys.size() - 1).getPrivate().getEncoded();
            Ed25519Signer signer = new Ed25519Signer();
            signer.init(true, new Ed25519PrivateKeyParameters(pkcs8, pkcs8.length - 32)); // the seed ends the PKCS#8
            byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
            signer.update(bytes, 0, bytes.length);
            return HexFormat.of().formatHex(signer.generateSignature());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public String webhookUrlOf(String requestId) {
        return requests.get(requestId).webhookUrl;
    }

    /** The ids of every request fal created. */
    public List<String> requestIds() {
        return List.copyOf(requests.keySet());
    }

    /** Whether fal would bill the request: it completed without error and was not cancelled. */
    public boolean billed(String requestId) {
        FalRequestState request = requests.get(requestId);
        return stateOf(request).equals("COMPLETED") && !request.cancelled && !request.fails;
    }

    private Map<String, Object> webhookBody(FalRequestState request) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("request_id", request.id);
        body.put("gateway_request_id", request.id);
        boolean ok = !request.cancelled && !request.fails;
        body.put("status", ok ? "OK" : "ERROR");
        if (ok) {
            body.put("payload", Map.of("video", Map.of("url", "https://v3.fal.media/files/simulated/" + request.id
                    + "/output.mp4", "content_type", "video/mp4", "file_name", "output.mp4", "file_size", 1_234_567),
                    "seed", request.seed));
        } else {
            body.put("error", request.cancelled ? "Request was cancelled" : "The video could not be processed.");
            body.put("payload", Map.of("detail", List.of(Map.of("msg", "The video could not be processed."))));
        }
        return body;
    }

    private void jwks(HttpExchange exchange) throws IOException {
        try (exchange) {
            List<Map<String, Object>> keys = new ArrayList<>();
            for (KeyPair pair : signingKeys) {
                byte[] der = pair.getPublic().getEncoded();
                byte[] raw = java.util.Arrays.copyOfRange(der, der.length - 32, der.length);
                keys.add(Map.of("kty", "OKP", "crv", "Ed25519", "x", Base64.getUrlEncoder().withoutPadding().encodeToString(raw)));
            }
            send(exchange, 200, Map.of("keys", keys));
        }
    }

    private static KeyPair newKeyPair() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String queryParam(String rawQuery, String name) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int equals = pair.indexOf('=');
            if (equals > 0 && pair.substring(0, equals).equals(name)) {
                return URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    // --- HTTP -------------------------------------------------------------------------------------

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            if (method.equals("POST") && path.equals(SUBMIT_PATH)) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                record(exchange, body);
                Fault fault = scriptedFaultFor(body);
                String chaosMarker = chaosMarkerOf(body);
                if (fault == null && chaosMarker != null && chaos.get(chaosMarker).strikes()) {
                    fault = chaos.get(chaosMarker).pick(CHAOS_SUBMIT_FAULTS);
                }
                if (fault == Fault.DROP_WITHOUT_CREATING) {
                    return; // closed without an answer
                }
                if (!authorized(exchange)) {
                    return;
                }
                submit(exchange, body, fault, chaosMarker);
                return;
            }
            record(exchange, readBody(exchange.getRequestBody()));
            if (!authorized(exchange)) {
                return;
            }
            Matcher matcher = REQUEST_PATH.matcher(path);
            if (!matcher.matches()) {
                send(exchange, 404, Map.of("detail", "Not Found"));
                return;
            }
            FalRequestState request = requests.get(matcher.group(1));
            String action = matcher.group(2) == null ? "" : matcher.group(2);
            Chaos requestChaos = request == null || request.chaosMarker == null ? null : chaos.get(request.chaosMarker);
            if (requestChaos != null && method.equals("GET") && requestChaos.strikes()) {
                if (requestChaos.random().nextBoolean()) {
                    send(exchange, 500, Map.of("detail", "Internal Server Error"));
                }
                return; // or the connection drops without an answer
            }
            if (request == null) {
                send(exchange, 404, Map.of("detail", "Request not found", "error_type", "NOT_FOUND"));
            } else if (method.equals("GET") && action.equals("/status")) {
                status(exchange, request);
            } else if (method.equals("GET") && action.isEmpty()) {
                result(exchange, request);
            } else if (method.equals("PUT") && action.equals("/cancel")) {
                cancel(exchange, request);
            } else {
                send(exchange, 405, Map.of("detail", "Method Not Allowed"));
            }
        } catch (RuntimeException e) {
            send(exchange, 500, Map.of("detail", "simulator failure: " + e));
        }
    }

    private Fault scriptedFaultFor(String body) {
        for (Map.Entry<String, Deque<Fault>> script : scriptedFaults.entrySet()) {
            if (body.contains(script.getKey())) {
                return script.getValue().poll();
            }
        }
        return null;
    }

    private String chaosMarkerOf(String body) {
        return chaos.keySet().stream().filter(body::contains).findFirst().orElse(null);
    }

    private void submit(HttpExchange exchange, String body, Fault fault, String chaosMarker) throws IOException {
        if (fault != null && fault != Fault.LOSE_ANSWER) {
            switch (fault) {
                case SERVER_ERROR -> send(exchange, 500, Map.of("detail", "Internal Server Error"));
                case SLOW_SERVER_ERROR -> {
                    pause(Duration.ofSeconds(1));
                    send(exchange, 500, Map.of("detail", "Internal Server Error"));
                }
                case UNAVAILABLE -> sendWithRetryAfter(exchange, 503, "Service Unavailable");
                case RATE_LIMITED -> sendWithRetryAfter(exchange, 429, "Too many requests in queue");
                case SLOW_DOWN -> {
                    exchange.getResponseHeaders().add("Retry-After", "120");
                    send(exchange, 429, Map.of("detail", "Too many requests in queue"));
                }
                case UNAUTHORIZED -> send(exchange, 401, Map.of("detail", "Invalid key"));
                case LOCKED -> send(exchange, 403, Map.of("detail", "User is locked. Reason: Exhausted balance. "
                        + "Top up your balance at fal.ai/dashboard/billing."));
                default -> throw new IllegalStateException("unhandled fault " + fault);
            }
            return;
        }
        JsonNode input;
        try {
            input = json.readTree(body);
        } catch (RuntimeException e) {
            send(exchange, 422, Map.of("detail", List.of(Map.of("loc", List.of("body"), "msg", "Invalid JSON",
                    "type", "json_invalid"))));
            return;
        }
        List<Map<String, Object>> problems = new ArrayList<>();
        if (!input.path("prompt").isString()) {
            problems.add(Map.of("loc", List.of("body", "prompt"), "msg", "Field required", "type", "missing"));
        }
        if (!input.path("video").path("video_url").isString()) {
            problems.add(Map.of("loc", List.of("body", "video"), "msg", "Field required", "type", "missing"));
        }
        String prompt = input.path("prompt").asString("");
        if (prompt.contains("[sim:reject]")) {
            problems.add(Map.of("loc", List.of("body", "video", "video_url"),
                    "msg", "The video could not be downloaded.", "type", "file_download_error"));
        }
        if (!problems.isEmpty()) {
            send(exchange, 422, Map.of("detail", problems));
            return;
        }
        String id = UUID.randomUUID().toString();
        long seed = input.path("seed").canConvertToLong() ? input.path("seed").asLong() : random.nextInt(1 << 30);
        FalRequestState created = new FalRequestState(id, Instant.now(), queueTime, runTime, prompt.contains("[sim:fail]"),
                seed, queryParam(exchange.getRequestURI().getRawQuery(), "fal_webhook"));
        created.chaosMarker = chaosMarker;
        requests.put(id, created);
        if (fault == Fault.LOSE_ANSWER) {
            return; // created, but the answer never leaves: falgate sees a dropped connection
        }
        String base = baseUrl() + APP + "/requests/" + id;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("status", "IN_QUEUE");
        answer.put("request_id", id);
        answer.put("gateway_request_id", id);
        answer.put("response_url", base);
        answer.put("status_url", base + "/status");
        answer.put("cancel_url", base + "/cancel");
        answer.put("queue_position", queuePosition(requests.get(id)));
        send(exchange, 200, answer);
    }

    private void status(HttpExchange exchange, FalRequestState request) throws IOException {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("request_id", request.id);
        switch (stateOf(request)) {
            case "IN_QUEUE" -> {
                answer.put("status", "IN_QUEUE");
                answer.put("queue_position", queuePosition(request));
                send(exchange, 202, answer);
            }
            case "IN_PROGRESS" -> {
                answer.put("status", "IN_PROGRESS");
                answer.put("logs", List.of());
                send(exchange, 202, answer);
            }
            default -> {
                answer.put("status", "COMPLETED");
                answer.put("logs", List.of());
                answer.put("metrics", Map.of("inference_time", request.runTime.toMillis() / 1000.0 + 12.5));
                if (request.cancelled) {
                    answer.put("error", "Request was cancelled");
                    answer.put("error_type", "request_cancelled");
                } else if (request.fails) {
                    answer.put("error", "The video could not be processed.");
                    answer.put("error_type", "file_download_error");
                }
                send(exchange, 200, answer);
            }
        }
    }

    private void result(HttpExchange exchange, FalRequestState request) throws IOException {
        CountDownLatch held = resultsHeld;
        if (held != null) {
            try {
                held.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!stateOf(request).equals("COMPLETED")) {
            send(exchange, 400, Map.of("detail", "Request is still in progress"));
            return;
        }
        exchange.getResponseHeaders().add("x-fal-request-id", request.id);
        if (request.cancelled || request.fails) {
            exchange.getResponseHeaders().add("x-fal-billable-units", "0");
            exchange.getResponseHeaders().add("X-Fal-Error-Type", request.cancelled ? "request_cancelled" : "file_download_error");
            send(exchange, 422, Map.of("detail", List.of(Map.of(
                    "loc", List.of("body", "video", "video_url"),
                    "msg", request.cancelled ? "Request was cancelled" : "The video could not be processed.",
                    "type", request.cancelled ? "request_cancelled" : "file_download_error"))));
            return;
        }
        exchange.getResponseHeaders().add("x-fal-billable-units", "1");
        Map<String, Object> video = new LinkedHashMap<>();
        video.put("url", "https://v3.fal.media/files/simulated/" + request.id + "/output.mp4");
        video.put("content_type", "video/mp4");
        video.put("file_name", "output.mp4");
        video.put("file_size", 1_234_567);
        send(exchange, 200, Map.of("video", video, "seed", request.seed));
    }

    private void cancel(HttpExchange exchange, FalRequestState request) throws IOException {
        String state = stateOf(request);
        if (state.equals("COMPLETED")) {
            send(exchange, 400, Map.of("status", "ALREADY_COMPLETED"));
            return;
        }
        if (state.equals("IN_QUEUE")) {
            request.cancelled = true; // never runs, completes at once with an error, never billed
        }
        send(exchange, 202, Map.of("status", "CANCELLATION_REQUESTED"));
    }

    private String stateOf(FalRequestState request) {
        if (request.cancelled) {
            return "COMPLETED";
        }
        Duration age = Duration.between(request.createdAt, Instant.now());
        if (age.compareTo(request.queueTime) < 0) {
            return "IN_QUEUE";
        }
        return age.compareTo(request.queueTime.plus(request.runTime)) < 0 ? "IN_PROGRESS" : "COMPLETED";
    }

    private long queuePosition(FalRequestState request) {
        if (request.queueTime.isZero()) {
            return 0; // nothing waits: spare the scan over every request
        }
        return requests.values().stream()
                .filter(other -> other.createdAt.isBefore(request.createdAt) && stateOf(other).equals("IN_QUEUE"))
                .count();
    }

    private boolean authorized(HttpExchange exchange) throws IOException {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.equals("Key " + expectedKey)) {
            send(exchange, 401, Map.of("detail", "No user found for Key ID and Secret"));
            return false;
        }
        return true;
    }

    private void record(HttpExchange exchange, String body) {
        Map<String, String> headers = new LinkedHashMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
        received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                exchange.getRequestURI().getRawQuery(), headers, body));
    }

    private void sendWithRetryAfter(HttpExchange exchange, int status, String detail) throws IOException {
        exchange.getResponseHeaders().add("Retry-After", "1");
        send(exchange, status, Map.of("detail", detail));
    }

    private void send(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String readBody(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Per request: when it completes (epoch millis) by the simulator's clock, for benchmarks. */
    private void stats(HttpExchange exchange) throws IOException {
        try (exchange) {
            Map<String, Object> completions = new LinkedHashMap<>();
            Map<String, Object> deliveries = new LinkedHashMap<>();
            requests.values().stream().filter(r -> !r.createdAt.isBefore(measuredFrom)).forEach(r -> {
                completions.put(r.id, r.createdAt.plus(r.queueTime).plus(r.runTime).toEpochMilli());
                if (r.webhookDeliveredAt != null) {
                    deliveries.put(r.id, r.webhookDeliveredAt.toEpochMilli());
                }
            });
            send(exchange, 200, Map.of("calls", received.size(), "submissions", submissions().size(),
                    "requests", requests.size(), "completions", completions, "webhooks_delivered", deliveries));
        }
    }

    /**
     * Runs the simulator on its own (local runs, benchmarks):
     * {@code FalSimulator [port] [key] [queue ms] [run ms] [gateway URL to deliver webhooks to]}.
     */
    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8765;
        String key = args.length > 1 ? args[1] : System.getenv().getOrDefault("FAL_KEY", "local-simulator-key");
        Duration queue = Duration.ofMillis(args.length > 2 ? Long.parseLong(args[2]) : 2000);
        Duration run = Duration.ofMillis(args.length > 3 ? Long.parseLong(args[3]) : 5000);
        FalSimulator simulator = start(port, key).setTiming(queue, run);
        simulator.server.createContext("/_sim/stats", simulator::stats);
        // benchmarks: after a warm-up, count calls and requests from now on (the warm-up's requests stay
        // answerable, so any still in flight can finish) and run the next jobs for ?run_ms=
        simulator.server.createContext("/_sim/measure", exchange -> {
            String query = exchange.getRequestURI().getQuery();
            long runMs = Long.parseLong(query.substring(query.indexOf("run_ms=") + "run_ms=".length()));
            simulator.measuredFrom = Instant.now();
            simulator.received.clear();
            simulator.setTiming(queue, Duration.ofMillis(runMs));
            simulator.send(exchange, 200, Map.of("run_ms", runMs));
        });
        if (args.length > 4) {
            URI gateway = URI.create(args[4]);
            // fal delivers many webhooks at once; a small pool here would queue them and blame the gateway
            ExecutorService senders = Executors.newFixedThreadPool(256);
            Thread deliveries = new Thread(() -> {
                while (true) {
                    for (FalRequestState request : simulator.requests.values()) {
                        if (request.webhookUrl != null && !request.webhookDelivered
                                && simulator.stateOf(request).equals("COMPLETED")) {
                            request.webhookDelivered = true; // taken; given back if the gateway did not take it
                            senders.execute(() -> {
                                Instant sent = Instant.now(); // the moment fal calls: what the gateway is measured from
                                if (simulator.deliverWebhook(request.id, gateway, sent) == 200) {
                                    request.webhookDeliveredAt = sent;
                                } else {
                                    request.webhookDelivered = false;
                                }
                            });
                        }
                    }
                    pause(Duration.ofMillis(50));
                }
            }, "fal-simulator-webhooks");
            deliveries.setDaemon(true);
            deliveries.start();
        }
        System.out.println("fal simulator listening on " + simulator.baseUrl() + " (queue " + queue + ", run " + run + ")");
        Thread.currentThread().join();
    }
}
