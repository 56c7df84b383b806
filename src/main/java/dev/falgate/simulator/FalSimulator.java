package dev.falgate.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * fal's queue API as falgate meets it, at the HTTP level: submit, status, result and cancel under
 * {@code /fal-ai/ltx-video-v097}, with fal's status codes and failure shapes (fal-protocol.md), and fal's
 * Platform API request listing under {@code /v1} ({@link #apiUrl}).
 * Requests move IN_QUEUE → IN_PROGRESS → COMPLETED on the simulator's clock ({@link #setTiming}).
 * Scripted faults ({@link #failNextSubmits}), canned answers ({@link #answerNext}), random faults
 * ({@link #chaos}) and prompt markers drive failures:
 * <ul>
 * <li>{@code [sim:reject]}: answered 422 on submit, nothing created;</li>
 * <li>{@code [sim:fail]}: completes with the model's error, not billed;</li>
 * <li>{@code [sim:fail-billed]}: completes with the model's error, but fal bills it ({@code x-fal-billable-units: 1});</li>
 * <li>{@code [sim:units=0.5]}: succeeds, billed that many units (any decimal);</li>
 * <li>{@code [sim:no-units]}: succeeds without an {@code x-fal-billable-units} header (fal still bills 1);</li>
 * <li>{@code [sim:cancel-running-takes]}: a cancel while IN_PROGRESS takes effect (without it a running
 * request ignores the cancel, finishes and is billed).</li>
 * </ul>
 * The markers sandbox keys' callers use (api.md, "Sandbox keys"): {@code [sandbox:fail]} completes with the model's
 * 422 like {@code [sim:fail]}, {@code [sandbox:slow]} stays in the queue for 60 s, {@code [sandbox:lost-answer]}
 * creates the request but loses the submit's answer.
 * What fal would bill is {@link #billedUnits}. Requests of another fal account: {@link #createForeignRequest}.
 * Part of the product: it runs sandbox keys' jobs ({@code sandbox.Sandbox}), so they never reach fal; the tests and
 * the local profile use it as fal itself.
 */
public final class FalSimulator implements AutoCloseable {

    public static final String APP = "/fal-ai/ltx-video-v097";
    public static final String SUBMIT_PATH = APP + "/extend";
    /** The endpoint id as fal's Platform API names it. */
    public static final String ENDPOINT_ID = SUBMIT_PATH.substring(1);
    public static final String JWKS_PATH = "/.well-known/jwks.json";
    /** The Platform API's base path; {@link #apiUrl} is {@code baseUrl() + API_PATH}. */
    public static final String API_PATH = "/v1";
    public static final String LISTING_PATH = API_PATH + "/models/requests/by-endpoint";
    /** The user id of our fal account, named by our webhooks' {@code X-Fal-Webhook-User-Id}. */
    public static final String USER_ID = "simulated-fal-user";
    private static final Pattern REQUEST_PATH = Pattern.compile(APP + "/requests/([^/]+)(/status|/cancel)?");
    private static final Pattern UNITS_MARKER = Pattern.compile("\\[sim:units=([0-9]*\\.?[0-9]+)]");
    /** How long a hanging call is held open at most before its connection is closed without an answer. */
    private static final Duration HANG_LIMIT = Duration.ofSeconds(30);
    private static final String LISTING_UNAVAILABLE_HTML = "<html><body>503 Service Temporarily Unavailable</body></html>";

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
        SLOW_SERVER_ERROR,
        /**
         * The request is created, then an intermediary answers 502 with an HTML body (no fal JSON): to falgate as
         * unknown as a lost answer.
         */
        BAD_GATEWAY_HTML_AFTER_CREATING,
        /** An intermediary answers 504 with an HTML body; nothing is created (but falgate cannot know that). */
        GATEWAY_TIMEOUT_HTML,
        /** The request is created, but the answer is 200 {@code {"status":"IN_QUEUE"}} without a request_id. */
        OK_WITHOUT_REQUEST_ID,
        /**
         * The request is created, then no answer comes until the client gives up (the connection is closed
         * without an answer after 30 s at most).
         */
        HANG;

        /** Whether fal holds a new request after this fault (the submit was valid and the key good). */
        public boolean createsRequest() {
            return this == LOSE_ANSWER || this == BAD_GATEWAY_HTML_AFTER_CREATING || this == OK_WITHOUT_REQUEST_ID
                    || this == HANG;
        }
    }

    /** A kind of call the simulator answers, for {@link #answerNext}. */
    public enum Operation {
        /** {@code POST .../extend}: matched by a substring of the request body. */
        SUBMIT,
        /** {@code GET .../requests/{id}/status}: matched by a substring of the path (a request id). */
        STATUS,
        /** {@code GET .../requests/{id}}: matched by a substring of the path (a request id). */
        RESULT,
        /** {@code PUT .../requests/{id}/cancel}: matched by a substring of the path (a request id). */
        CANCEL,
        /** {@code GET /v1/models/requests/by-endpoint}: matched by a substring of path and query ("" for any). */
        LISTING
    }

    /**
     * An answer given instead of the simulator's own, by {@link #answerNext}: a status, headers and body, or no
     * answer at all ({@code hangs}: held open until the client gives up; {@code resets}: the connection is closed
     * at once). {@code createsRequest} (only for submits, see {@link #creating}): fal created the request before
     * this answer was sent, e.g. a 504 from an intermediary after fal accepted it.
     */
    public record Canned(int status, Map<String, String> headers, String body, boolean hangs, boolean resets,
            boolean createsRequest) {

        public Canned {
            headers = headers == null ? Map.of() : Map.copyOf(headers);
            body = body == null ? "" : body;
        }

        /** An answer with this status, Content-Type (null: none) and body. */
        public static Canned of(int status, String contentType, String body) {
            return new Canned(status, contentType == null ? Map.of() : Map.of("Content-Type", contentType), body,
                    false, false, false);
        }

        /** A JSON answer, shaped like fal's own (e.g. {@code json(500, "{\"detail\":\"Internal Server Error\"}")}). */
        public static Canned json(int status, String body) {
            return of(status, "application/json", body);
        }

        /** An intermediary's HTML error page (a proxy or load balancer in front of fal): no fal JSON. */
        public static Canned html(int status, String body) {
            return of(status, "text/html", body);
        }

        /** The request is read, then no answer comes until the client gives up (30 s at most, or until close). */
        public static Canned hang() {
            return new Canned(0, Map.of(), "", true, false, false);
        }

        /** The connection is closed without any answer. */
        public static Canned reset() {
            return new Canned(0, Map.of(), "", false, true, false);
        }

        /** This answer with one more header. */
        public Canned withHeader(String name, String value) {
            Map<String, String> more = new LinkedHashMap<>(headers);
            more.put(name, value);
            return new Canned(status, more, body, hangs, resets, createsRequest);
        }

        /**
         * This answer, but (for a submit) only after fal created the request exactly as a normal submit does: it
         * is listed, billable and gets its webhook. Nothing is created when the key or the input is bad.
         */
        public Canned creating() {
            return new Canned(status, headers, body, hangs, resets, true);
        }
    }

    /**
     * Random faults for everything a marker's jobs do at fal: submits (one of {@code submitFaults}), and the status,
     * result and cancel calls after.
     */
    private record Chaos(Random random, double rate, List<Fault> submitFaults) {

        boolean strikes() {
            return random.nextDouble() < rate;
        }

        <T> T pick(List<T> choices) {
            return choices.get(random.nextInt(choices.size()));
        }
    }

    private static final List<Fault> CHAOS_SUBMIT_FAULTS = List.of(Fault.SERVER_ERROR, Fault.UNAVAILABLE,
            Fault.RATE_LIMITED, Fault.LOCKED, Fault.DROP_WITHOUT_CREATING, Fault.LOSE_ANSWER);

    /** {@link #CHAOS_SUBMIT_FAULTS} and the answers that leave falgate unsure whether a request was created. */
    private static final List<Fault> CHAOS_SUBMIT_FAULTS_WITH_UNKNOWNS = Stream.concat(CHAOS_SUBMIT_FAULTS.stream(),
            Stream.of(Fault.BAD_GATEWAY_HTML_AFTER_CREATING, Fault.GATEWAY_TIMEOUT_HTML, Fault.OK_WITHOUT_REQUEST_ID,
                    Fault.HANG)).toList();

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
        final long seed;
        final String webhookUrl;
        /** The submit body as fal received it, and parsed: the listing's {@code json_input}. */
        final String body;
        final JsonNode input;
        /** Completes with the model's error ({@code [sim:fail]} or {@code [sim:fail-billed]}). */
        final boolean fails;
        /** fal bills the failure: {@code [sim:fail-billed]}. */
        final boolean failBilled;
        /** The units fal bills for a success: 1, or {@code [sim:units=...]}. */
        final BigDecimal units;
        /** Whether the result names the units ({@code x-fal-billable-units}); not with {@code [sim:no-units]}. */
        final boolean unitsHeader;
        /** A cancel while IN_PROGRESS takes effect: {@code [sim:cancel-running-takes]}. */
        final boolean cancelWhileRunningTakes;
        volatile String chaosMarker;
        volatile boolean cancelled;
        volatile Instant cancelledAt;
        volatile boolean webhookDelivered;
        volatile Instant webhookDeliveredAt;

        FalRequestState(String id, Instant createdAt, Duration queueTime, Duration runTime, long seed,
                String webhookUrl, String body, JsonNode input) {
            this.id = id;
            this.createdAt = createdAt;
            this.queueTime = queueTime;
            this.runTime = runTime;
            this.seed = seed;
            this.webhookUrl = webhookUrl;
            this.body = body;
            this.input = input;
            String prompt = input.path("prompt").asString("");
            this.failBilled = prompt.contains("[sim:fail-billed]");
            this.fails = failBilled || prompt.contains("[sim:fail]") || prompt.contains("[sandbox:fail]");
            Matcher units = UNITS_MARKER.matcher(prompt);
            this.units = units.find() ? new BigDecimal(units.group(1)) : BigDecimal.ONE;
            this.unitsHeader = !prompt.contains("[sim:no-units]");
            this.cancelWhileRunningTakes = prompt.contains("[sim:cancel-running-takes]");
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final String expectedKey;
    private final JsonMapper json = JsonMapper.builder().build();
    private final Map<String, FalRequestState> requests = new ConcurrentHashMap<>();
    /** Requests of another fal account ({@link #createForeignRequest}): never visible to our key. */
    private final Map<String, FalRequestState> foreignRequests = new ConcurrentHashMap<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Fault>> scriptedFaults = new ConcurrentHashMap<>();
    private final Map<Operation, Map<String, Deque<Canned>>> cannedAnswers = new ConcurrentHashMap<>();
    private volatile CountDownLatch resultsHeld;
    private volatile CountDownLatch submitsHeld;
    private final Map<String, Chaos> chaos = new ConcurrentHashMap<>();
    private final Random random = new Random();
    private final List<KeyPair> signingKeys = new CopyOnWriteArrayList<>(List.of(newKeyPair()));
    private final HttpClient webhookClient = HttpClient.newHttpClient();
    /** Calls held without an answer ({@link Fault#HANG}, {@link Canned#hang}), closed later by {@link #hangs}. */
    private final Set<HttpExchange> hanging = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService hangs = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "fal-simulator-hangs");
        thread.setDaemon(true);
        return thread;
    });
    /** Stats cover the requests created since (benchmarks: the end of the warm-up). */
    private volatile Instant measuredFrom = Instant.EPOCH;
    private volatile Duration queueTime = Duration.ZERO;
    private volatile Duration runTime = Duration.ZERO;
    private volatile boolean listingUnavailable;
    private volatile Duration listingLag = Duration.ZERO;
    private volatile Clock clock = Clock.systemUTC();

    private FalSimulator(int port, String expectedKey) throws IOException {
        this.expectedKey = expectedKey;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 512);
        this.executor = Executors.newFixedThreadPool(16, task -> {
            Thread thread = new Thread(task, "fal-simulator");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        server.createContext(APP, exchange -> handle(exchange, this::queue));
        server.createContext(API_PATH, exchange -> handle(exchange, this::listing));
        server.createContext(JWKS_PATH, this::jwks);
        server.createContext(MEDIA_PATH, this::media);
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

    /** fal's Platform API base URL ({@code FAL_API_URL}, {@code falgate.fal.api-url}): {@code baseUrl() + "/v1"}. */
    public URI apiUrl() {
        return URI.create(baseUrl() + API_PATH);
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
     * The next calls of {@code operation} that match get these answers, one each, in order; later ones are served
     * normally again. A call matches when {@code match} is a substring of its body (SUBMIT: a test's marker, as
     * for {@link #failNextSubmits}), of its path (STATUS, RESULT, CANCEL: a request id) or of its path and query
     * (LISTING: use "" for any). A canned answer comes before the key is checked and before scripted faults and
     * chaos; a SUBMIT answer made {@link Canned#creating} creates the request first, exactly as a normal submit.
     */
    public void answerNext(Operation operation, String match, Canned... answers) {
        cannedAnswers.computeIfAbsent(operation, key -> new ConcurrentHashMap<>())
                .computeIfAbsent(match, key -> new ConcurrentLinkedDeque<>()).addAll(List.of(answers));
    }

    /**
     * From now on, a share {@code rate} of the submits carrying {@code marker} meet a random fault (5xx, 429,
     * 403, a dropped connection, a lost answer), and so do the status, result and cancel calls of their requests
     * (500, 502 with an HTML body, or a dropped connection; a cancel so answered has no effect). Seeded, so a
     * failing run can be replayed.
     */
    public void chaos(String marker, long seed, double rate) {
        chaos.put(marker, new Chaos(new Random(seed), rate, CHAOS_SUBMIT_FAULTS));
    }

    /**
     * As {@link #chaos}, but the submit faults also include the answers after which falgate cannot know whether
     * a request was created: {@link Fault#BAD_GATEWAY_HTML_AFTER_CREATING}, {@link Fault#GATEWAY_TIMEOUT_HTML},
     * {@link Fault#OK_WITHOUT_REQUEST_ID} and {@link Fault#HANG}.
     */
    public void chaosIncludingUnknowns(String marker, long seed, double rate) {
        chaos.put(marker, new Chaos(new Random(seed), rate, CHAOS_SUBMIT_FAULTS_WITH_UNKNOWNS));
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

    /**
     * Submits are received (and recorded) but wait (at most 10 s) until the returned handle is closed before
     * they are answered: a caller can act while a submit is out, as it would against a slow fal.
     */
    public AutoCloseable holdSubmits() {
        CountDownLatch held = new CountDownLatch(1);
        submitsHeld = held;
        return () -> {
            submitsHeld = null;
            held.countDown();
        };
    }

    /**
     * While {@code unavailable}, the request listing answers 503 with an HTML body (an intermediary's page), as
     * fal's Platform API sometimes does.
     */
    public void listingUnavailable(boolean unavailable) {
        this.listingUnavailable = unavailable;
    }

    /** A request appears in the listing only once it is {@code lag} old (fal's listing trails its queue); default zero. */
    public void listingLag(Duration lag) {
        this.listingLag = lag;
    }

    /**
     * fal's time runs on {@code clock} instead of the wall clock: requests are created, queued, run, cancelled and
     * listed ({@code started_at}, filters, lag) by it. Tests pass the gateway's own clock, so fal's time agrees with
     * the gateway's and moves only when the test moves it. Until {@link #reset()}.
     */
    public void useClock(Clock clock) {
        this.clock = clock;
    }

    /** Forgets what was received and scripted (the requests fal holds stay). */
    public void reset() {
        received.clear();
        scriptedFaults.clear();
        cannedAnswers.clear();
        chaos.clear();
        queueTime = Duration.ZERO;
        runTime = Duration.ZERO;
        listingUnavailable = false;
        listingLag = Duration.ZERO;
        clock = Clock.systemUTC();
        servingMedia = false;
        mediaBytes = MEDIA_BYTES;
        sample = null;
        deletedMedia.clear();
    }

    // --- fal's CDN: output files -------------------------------------------------------------------

    private static final String MEDIA_PATH = "/files/";
    /** Size of every simulated output video while media is served. */
    public static final int MEDIA_BYTES = 300_000;
    private volatile boolean servingMedia;
    private volatile long mediaBytes = MEDIA_BYTES;
    /** A real video served as every output file ({@link #serveSample}), or null for generated bytes. */
    private volatile byte[] sample;
    /** Where results say output files are (null: this simulator's own origin). */
    private volatile URI mediaBase;
    /** Restores a request another instance's simulator created (the sandbox: from falgate's jobs); null: none. */
    private volatile java.util.function.Function<String, java.util.Optional<Recovered>> recovery;
    /** Whether calls are kept for {@link #received} (tests); the sandbox keeps none. */
    private volatile boolean recording = true;
    /** How long a finished request stays answerable; null: for ever (tests). */
    private volatile Duration forgetAfter;
    /** How long {@code [sandbox:slow]} keeps a request in the queue. */
    static final Duration SLOW_QUEUE = Duration.ofSeconds(60);
    private final Set<String> deletedMedia = ConcurrentHashMap.newKeySet();

    /**
     * From now on, results name output files this simulator serves itself ({@code <baseUrl>/files/<request id>/
     * output.mp4}, {@link #MEDIA_BYTES} bytes, {@link #mediaOf} their content), as fal's CDN would, instead of
     * fal.media URLs nothing answers in tests.
     */
    public void serveMedia() {
        serveMedia(MEDIA_BYTES);
    }

    /**
     * As a long-running service (the sandbox) uses it: no call is recorded, and a request is forgotten
     * {@code forgetAfter} after it finished, so memory stays bounded however many requests it serves.
     */
    public FalSimulator keepingNothingFor(Duration forgetAfter) {
        this.recording = false;
        this.forgetAfter = forgetAfter;
        return this;
    }

    /** Results name their output files under {@code base} instead of this simulator's own origin. */
    public FalSimulator namingMediaUnder(URI base) {
        this.mediaBase = base;
        return this;
    }

    /** What is needed to answer for a request this simulator did not create: when it was created, and its input. */
    public record Recovered(Instant createdAt, String inputJson) {
    }

    /**
     * Requests this simulator does not know (created by another instance's, or before a restart) are restored
     * through {@code recovery} when it knows them, so every instance answers for every sandbox request.
     */
    public FalSimulator recoveringWith(java.util.function.Function<String, java.util.Optional<Recovered>> recovery) {
        this.recovery = recovery;
        return this;
    }

    private FalRequestState known(String requestId) {
        FalRequestState request = requests.get(requestId);
        java.util.function.Function<String, java.util.Optional<Recovered>> restore = recovery;
        if (request != null || restore == null) {
            return request;
        }
        return restore.apply(requestId).map(recovered -> {
            JsonNode input = parsed(recovered.inputJson());
            if (input == null) {
                return null;
            }
            long seed = input.path("seed").canConvertToLong() ? input.path("seed").asLong()
                    : Math.floorMod(requestId.hashCode(), 1 << 30);
            Duration queued = input.path("prompt").asString("").contains("[sandbox:slow]") ? SLOW_QUEUE : queueTime;
            FalRequestState restored = new FalRequestState(requestId, recovered.createdAt(), queued, runTime, seed,
                    null, recovered.inputJson(), input);
            requests.putIfAbsent(requestId, restored);
            return requests.get(requestId);
        }).orElse(null);
    }

    /** As {@link #serveMedia()}, every output file being this real video (the sandbox's playable sample). */
    public void serveSample(byte[] video) {
        sample = video.clone();
        mediaBytes = video.length;
        servingMedia = true;
    }

    /** As {@link #serveMedia()}, with output files of {@code bytes} bytes, streamed as they are made (never held). */
    public void serveMedia(long bytes) {
        mediaBytes = bytes;
        servingMedia = true;
    }

    /** fal's retention ran out: the request's output file is gone from the CDN (404). */
    public void deleteMedia(String requestId) {
        deletedMedia.add(requestId);
    }

    /** The bytes of a request's simulated output video: deterministic, so tests can compare. */
    public static byte[] mediaOf(String requestId) {
        byte[] bytes = new byte[MEDIA_BYTES];
        new java.util.Random(requestId.hashCode()).nextBytes(bytes);
        return bytes;
    }

    private String videoUrlOf(String requestId) {
        URI base = mediaBase != null ? mediaBase : baseUrl();
        return servingMedia ? base + MEDIA_PATH + requestId + "/output.mp4"
                : "https://v3.fal.media/files/simulated/" + requestId + "/output.mp4";
    }

    private long videoSizeOf() {
        return servingMedia ? mediaBytes : 1_234_567;
    }

    /**
     * Writes the first {@code length} bytes of a request's output file, as {@link #mediaOf} makes them, in chunks: a
     * multiple of 4 bytes at a time takes the same values from {@link java.util.Random#nextBytes} as one call would.
     */
    public static void writeMedia(String requestId, long length, java.io.OutputStream out) throws IOException {
        java.util.Random random = new java.util.Random(requestId.hashCode());
        byte[] chunk = new byte[64 * 1024];
        for (long written = 0; written < length; written += chunk.length) {
            int size = (int) Math.min(chunk.length, length - written);
            byte[] part = size == chunk.length ? chunk : new byte[size];
            random.nextBytes(part);
            out.write(part);
        }
    }

    private void media(HttpExchange exchange) throws IOException {
        String[] parts = exchange.getRequestURI().getPath().substring(MEDIA_PATH.length()).split("/");
        String requestId = parts[0];
        if (!exchange.getRequestMethod().equals("GET") || parts.length != 2 || deletedMedia.contains(requestId)) {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
            return;
        }
        exchange.getResponseHeaders().set("Content-Type", "video/mp4");
        exchange.sendResponseHeaders(200, mediaBytes);
        try (var out = exchange.getResponseBody()) {
            byte[] video = sample;
            if (video != null) {
                out.write(video);
            } else {
                writeMedia(requestId, mediaBytes, out);
            }
        } catch (IOException e) {
            // the reader went away (a size cap, a test that stopped reading)
        }
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
        hanging.forEach(HttpExchange::close);
        hangs.shutdownNow();
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

    /**
     * A request made by ANOTHER fal account with this webhook URL (e.g. one naming a job of ours): it completes at
     * once, is never visible to our key (status, result and cancel answer 404) and is never listed, billed to us
     * or delivered by {@link #deliverFinishedWebhooks}. Returns its request id.
     */
    public String createForeignRequest(String webhookUrl) {
        String id = UUID.randomUUID().toString();
        JsonNode input = json.valueToTree(Map.of("prompt", "another account's request",
                "video", Map.of("video_url", "https://example.com/another-account.mp4")));
        foreignRequests.put(id, new FalRequestState(id, clock.instant(), Duration.ZERO, Duration.ZERO,
                random.nextInt(1 << 30), webhookUrl, input.toString(), input));
        return id;
    }

    /**
     * Posts the webhook of a {@linkplain #createForeignRequest foreign request} to {@code gateway} + the path of its
     * webhook URL, correctly signed with fal's current key (fal signs every account's deliveries with the same
     * JWKS) for the account {@code userId}, which {@code X-Fal-Webhook-User-Id} names. Returns the gateway's
     * status code.
     */
    public int deliverForeignWebhook(String requestId, URI gateway, Instant timestamp, String userId) {
        FalRequestState request = foreignRequests.get(requestId);
        if (request == null) {
            throw new IllegalArgumentException("no foreign request " + requestId);
        }
        byte[] body = json.writeValueAsBytes(webhookBody(request));
        String seconds = Long.toString(timestamp.getEpochSecond());
        return postWebhook(URI.create(gateway + URI.create(request.webhookUrl).getRawPath()), requestId, userId, body,
                seconds, sign(requestId, userId, seconds, body));
    }

    /** Posts a webhook with the given (possibly wrong) parts, for tests of the gateway's checks. */
    public int postWebhook(URI url, String requestId, byte[] body, String timestamp, String signatureHex) {
        return postWebhook(url, requestId, requestId == null ? null : USER_ID, body, timestamp, signatureHex);
    }

    /**
     * Posts a webhook with the given (possibly wrong) parts, {@code X-Fal-Webhook-User-Id: userId} included; a null
     * part leaves its header out.
     */
    public int postWebhook(URI url, String requestId, String userId, byte[] body, String timestamp, String signatureHex) {
        HttpRequest.Builder post = HttpRequest.newBuilder(url).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (requestId != null) {
            post.header("X-Fal-Webhook-Request-Id", requestId);
        }
        if (userId != null) {
            post.header("X-Fal-Webhook-User-Id", userId);
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

    /** The hex ED25519 signature fal puts on a delivery for our account ({@link #USER_ID}), made with the newest key. */
    public String sign(String requestId, String timestamp, byte[] body) {
        return sign(requestId, USER_ID, timestamp, body);
    }

    /** The hex ED25519 signature fal puts on a delivery for the account {@code userId}, made with the newest key. */
    public String sign(String requestId, String userId, String timestamp, byte[] body) {
        try {
            String message = requestId + "\n" + userId + "\n" + timestamp + "\n"
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

    /** The webhook URL a request (ours or {@linkplain #createForeignRequest foreign}) was submitted with, or null. */
    public String webhookUrlOf(String requestId) {
        FalRequestState request = requests.get(requestId);
        return (request != null ? request : foreignRequests.get(requestId)).webhookUrl;
    }

    /** The ids of every request fal created for our account. */
    public List<String> requestIds() {
        return List.copyOf(requests.keySet());
    }

    /** The ids of the requests fal created for our submits whose body contained {@code marker}, oldest first. */
    public List<String> requestIdsFor(String marker) {
        return requests.values().stream().filter(request -> request.body.contains(marker))
                .sorted(Comparator.comparing((FalRequestState request) -> request.createdAt))
                .map(request -> request.id).toList();
    }

    // --- billing (fal's own, independent of the gateway's cost rule) ---------------------------------

    /** Whether fal bills the request: {@link #billedUnits} is more than zero. */
    public boolean billed(String requestId) {
        return billedUnits(requestId).signum() > 0;
    }

    /**
     * The units fal's invoice shows for one of our requests: 1 for a success (also without the units header,
     * {@code [sim:no-units]}: fal bills successful outputs), the units of {@code [sim:units=...]}, 1 for
     * {@code [sim:fail-billed]}; 0 for a failed or cancelled request, one not completed yet, and one not ours.
     */
    public BigDecimal billedUnits(String requestId) {
        FalRequestState request = requests.get(requestId);
        if (request == null || request.cancelled || !stateOf(request).equals("COMPLETED")) {
            return BigDecimal.ZERO;
        }
        if (request.fails) {
            return request.failBilled ? BigDecimal.ONE : BigDecimal.ZERO;
        }
        return request.units;
    }

    /** The units fal bills over all our requests whose submit body contained {@code marker}. */
    public BigDecimal totalBilledUnits(String marker) {
        return requests.values().stream().filter(request -> request.body.contains(marker))
                .map(request -> billedUnits(request.id)).reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    private Map<String, Object> webhookBody(FalRequestState request) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("request_id", request.id);
        body.put("gateway_request_id", request.id);
        boolean ok = !request.cancelled && !request.fails;
        body.put("status", ok ? "OK" : "ERROR");
        if (ok) {
            body.put("payload", Map.of("video", Map.of("url", videoUrlOf(request.id), "content_type", "video/mp4",
                    "file_name", "output.mp4", "file_size", videoSizeOf()),
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
        List<String> values = queryParams(rawQuery).get(name);
        return values == null ? null : values.get(0);
    }

    /** Every parameter of a raw query with its decoded values, comma-separated ones split ({@code a=x,y&a=z}). */
    private static Map<String, List<String>> queryParams(String rawQuery) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (rawQuery == null) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            int equals = pair.indexOf('=');
            if (equals > 0) {
                String name = URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8);
                String value = URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
                params.computeIfAbsent(name, key -> new ArrayList<>()).add(value);
            }
        }
        return params;
    }

    // --- HTTP -------------------------------------------------------------------------------------

    private interface Route {
        void answer(HttpExchange exchange) throws IOException;
    }

    /** Runs a route, then closes the exchange: unless it hangs, then {@link #hang} closes it later. */
    private void handle(HttpExchange exchange, Route route) throws IOException {
        try {
            route.answer(exchange);
        } catch (RuntimeException e) {
            if (exchange.getResponseCode() == -1) { // nothing sent yet
                send(exchange, 500, Map.of("detail", "simulator failure: " + e));
            }
        } finally {
            if (!hanging.contains(exchange)) {
                exchange.close();
            }
        }
    }

    /** The queue API: submit, status, result and cancel. */
    private void queue(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        if (method.equals("POST") && path.equals(SUBMIT_PATH)) {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            record(exchange, body);
            CountDownLatch held = submitsHeld;
            if (held != null) {
                try {
                    held.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Canned canned = cannedFor(Operation.SUBMIT, body);
            if (canned != null) {
                if (canned.createsRequest() && authorizedQuietly(exchange)) {
                    JsonNode input = parsed(body);
                    if (input != null && problemsOf(input).isEmpty()) {
                        create(exchange, body, input, chaosMarkerOf(body));
                    }
                }
                answer(exchange, canned);
                return;
            }
            Fault fault = scriptedFaultFor(body);
            String chaosMarker = chaosMarkerOf(body);
            Chaos submitChaos = chaosMarker == null ? null : chaos.get(chaosMarker);
            if (fault == null && submitChaos != null && submitChaos.strikes()) {
                fault = submitChaos.pick(submitChaos.submitFaults());
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
        Matcher matcher = REQUEST_PATH.matcher(path);
        Operation operation = matcher.matches() ? operationOf(method, matcher.group(2)) : null;
        Canned canned = operation == null ? null : cannedFor(operation, path);
        if (canned != null) {
            answer(exchange, canned);
            return;
        }
        if (!authorized(exchange)) {
            return;
        }
        if (!matcher.matches()) {
            send(exchange, 404, Map.of("detail", "Not Found"));
            return;
        }
        FalRequestState request = known(matcher.group(1));
        Chaos requestChaos = request == null || request.chaosMarker == null ? null : chaos.get(request.chaosMarker);
        if (requestChaos != null && operation != null && requestChaos.strikes()) {
            switch (requestChaos.random().nextInt(3)) {
                case 0 -> send(exchange, 500, Map.of("detail", "Internal Server Error"));
                case 1 -> sendHtml(exchange, 502, htmlPage("502 Bad Gateway"));
                default -> { } // the connection drops without an answer
            }
            return;
        }
        if (request == null) {
            send(exchange, 404, Map.of("detail", "Request not found", "error_type", "NOT_FOUND"));
        } else if (operation == Operation.STATUS) {
            status(exchange, request);
        } else if (operation == Operation.RESULT) {
            result(exchange, request);
        } else if (operation == Operation.CANCEL) {
            cancel(exchange, request);
        } else {
            send(exchange, 405, Map.of("detail", "Method Not Allowed"));
        }
    }

    /** The operation of a call to {@code .../requests/{id}{action}}, or null for a method the path does not take. */
    private static Operation operationOf(String method, String action) {
        if (method.equals("GET") && "/status".equals(action)) {
            return Operation.STATUS;
        }
        if (method.equals("GET") && action == null) {
            return Operation.RESULT;
        }
        if (method.equals("PUT") && "/cancel".equals(action)) {
            return Operation.CANCEL;
        }
        return null;
    }

    private Canned cannedFor(Operation operation, String subject) {
        for (Map.Entry<String, Deque<Canned>> script : cannedAnswers.getOrDefault(operation, Map.of()).entrySet()) {
            if (subject.contains(script.getKey())) {
                Canned canned = script.getValue().poll();
                if (canned != null) {
                    return canned;
                }
            }
        }
        return null;
    }

    /** Sends a canned answer, or none (reset: the connection is closed; hang: held open). */
    private void answer(HttpExchange exchange, Canned canned) throws IOException {
        if (canned.resets()) {
            return; // closed without an answer
        }
        if (canned.hangs()) {
            hang(exchange);
            return;
        }
        canned.headers().forEach(exchange.getResponseHeaders()::add);
        sendBytes(exchange, canned.status(), canned.body().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Holds the call without an answer: its connection is closed, still without an answer, after {@link #HANG_LIMIT}
     * or when the simulator closes. No handler thread waits meanwhile.
     */
    private void hang(HttpExchange exchange) {
        hanging.add(exchange);
        hangs.schedule(() -> {
            if (hanging.remove(exchange)) {
                exchange.close();
            }
        }, HANG_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
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
        if (fault != null && !fault.createsRequest()) {
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
                case GATEWAY_TIMEOUT_HTML -> sendHtml(exchange, 504, htmlPage("504 Gateway Time-out"));
                default -> throw new IllegalStateException("unhandled fault " + fault);
            }
            return;
        }
        JsonNode input = parsed(body);
        if (input == null) {
            send(exchange, 422, Map.of("detail", List.of(Map.of("loc", List.of("body"), "msg", "Invalid JSON",
                    "type", "json_invalid"))));
            return;
        }
        List<Map<String, Object>> problems = problemsOf(input);
        if (!problems.isEmpty()) {
            send(exchange, 422, Map.of("detail", problems));
            return;
        }
        FalRequestState created = create(exchange, body, input, chaosMarker);
        if (fault == null && input.path("prompt").asString("").contains("[sandbox:lost-answer]")) {
            fault = Fault.LOSE_ANSWER;
        }
        if (fault == null) {
            send(exchange, 200, submitAnswer(created));
            return;
        }
        switch (fault) {
            case LOSE_ANSWER -> { } // created, but the answer never leaves: falgate sees a dropped connection
            case BAD_GATEWAY_HTML_AFTER_CREATING -> sendHtml(exchange, 502, htmlPage("502 Bad Gateway"));
            case OK_WITHOUT_REQUEST_ID -> send(exchange, 200, Map.of("status", "IN_QUEUE"));
            case HANG -> hang(exchange);
            default -> throw new IllegalStateException("unhandled fault " + fault);
        }
    }

    /** The submit body as JSON, or null when it is none. */
    private JsonNode parsed(String body) {
        try {
            return json.readTree(body);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** What fal's input validation says about a submit (422 {@code detail} entries); empty when it is accepted. */
    private static List<Map<String, Object>> problemsOf(JsonNode input) {
        List<Map<String, Object>> problems = new ArrayList<>();
        if (!input.path("prompt").isString()) {
            problems.add(Map.of("loc", List.of("body", "prompt"), "msg", "Field required", "type", "missing"));
        }
        if (!input.path("video").path("video_url").isString()) {
            problems.add(Map.of("loc", List.of("body", "video"), "msg", "Field required", "type", "missing"));
        }
        if (input.path("prompt").asString("").contains("[sim:reject]")) {
            problems.add(Map.of("loc", List.of("body", "video", "video_url"),
                    "msg", "The video could not be downloaded.", "type", "file_download_error"));
        }
        return problems;
    }

    /** Creates the request for an accepted submit: from now on fal holds it, runs it, lists it and bills it. */
    private FalRequestState create(HttpExchange exchange, String body, JsonNode input, String chaosMarker) {
        String id = UUID.randomUUID().toString();
        long seed = input.path("seed").canConvertToLong() ? input.path("seed").asLong() : random.nextInt(1 << 30);
        Duration queued = input.path("prompt").asString("").contains("[sandbox:slow]") ? SLOW_QUEUE : queueTime;
        FalRequestState created = new FalRequestState(id, clock.instant(), queued, runTime, seed,
                queryParam(exchange.getRequestURI().getRawQuery(), "fal_webhook"), body, input);
        created.chaosMarker = chaosMarker;
        Duration forget = forgetAfter;
        if (forget != null) {
            Instant before = clock.instant().minus(forget);
            requests.values().removeIf(old -> old.createdAt.plus(old.queueTime).plus(old.runTime).isBefore(before));
        }
        requests.put(id, created);
        return created;
    }

    private Map<String, Object> submitAnswer(FalRequestState created) {
        String base = baseUrl() + APP + "/requests/" + created.id;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("status", "IN_QUEUE");
        answer.put("request_id", created.id);
        answer.put("gateway_request_id", created.id);
        answer.put("response_url", base);
        answer.put("status_url", base + "/status");
        answer.put("cancel_url", base + "/cancel");
        answer.put("queue_position", queuePosition(created));
        return answer;
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
            exchange.getResponseHeaders().add("x-fal-billable-units", billedUnits(request.id).toPlainString());
            exchange.getResponseHeaders().add("X-Fal-Error-Type", request.cancelled ? "request_cancelled" : "file_download_error");
        } else if (request.unitsHeader) {
            exchange.getResponseHeaders().add("x-fal-billable-units", request.units.toPlainString());
        }
        send(exchange, request.cancelled || request.fails ? 422 : 200, outputOf(request));
    }

    /** The body of a completed request's result: the model's output, or its error. */
    private Map<String, Object> outputOf(FalRequestState request) {
        if (request.cancelled || request.fails) {
            return Map.of("detail", List.of(Map.of(
                    "loc", List.of("body", "video", "video_url"),
                    "msg", request.cancelled ? "Request was cancelled" : "The video could not be processed.",
                    "type", request.cancelled ? "request_cancelled" : "file_download_error")));
        }
        Map<String, Object> video = new LinkedHashMap<>();
        video.put("url", videoUrlOf(request.id));
        video.put("content_type", "video/mp4");
        video.put("file_name", "output.mp4");
        video.put("file_size", videoSizeOf());
        return Map.of("video", video, "seed", request.seed);
    }

    private void cancel(HttpExchange exchange, FalRequestState request) throws IOException {
        String state = stateOf(request);
        if (state.equals("COMPLETED")) {
            send(exchange, 400, Map.of("status", "ALREADY_COMPLETED"));
            return;
        }
        // in the queue it never runs, completes at once with an error, never billed; running, it finishes (and is
        // billed) unless the model honours the cancel ([sim:cancel-running-takes])
        if (state.equals("IN_QUEUE") || request.cancelWhileRunningTakes) {
            request.cancelledAt = clock.instant();
            request.cancelled = true;
        }
        send(exchange, 202, Map.of("status", "CANCELLATION_REQUESTED"));
    }

    private String stateOf(FalRequestState request) {
        if (request.cancelled) {
            return "COMPLETED";
        }
        Duration age = Duration.between(request.createdAt, clock.instant());
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

    // --- Platform API: the request listing ------------------------------------------------------------

    /**
     * {@code GET /v1/models/requests/by-endpoint}: our account's requests to {@link #ENDPOINT_ID}, newest first by
     * creation, as fal's Platform API lists them. Parameters: {@code endpoint_id} (required), {@code start}
     * (inclusive, default 24 h ago, 90 days with {@code request_id}) and {@code end} (exclusive, default now) on
     * the creation time, as RFC 3339 / ISO 8601 (a date alone is midnight UTC), {@code limit} (1..100, default
     * 100), {@code cursor} (opaque; fal's encodes the page number), {@code request_id}, {@code status}
     * ({@code success}: 200, {@code user_error}: 4xx, {@code error}: 5xx) and {@code expand=payloads}
     * ({@code json_input}: the submit body, and {@code json_output}). Bad parameters: 400 {@code {"detail"}}.
     */
    private void listing(HttpExchange exchange) throws IOException {
        record(exchange, readBody(exchange.getRequestBody()));
        Canned canned = cannedFor(Operation.LISTING, exchange.getRequestURI().toString());
        if (canned != null) {
            answer(exchange, canned);
            return;
        }
        if (listingUnavailable) {
            sendHtml(exchange, 503, LISTING_UNAVAILABLE_HTML);
            return;
        }
        if (!authorized(exchange)) {
            return;
        }
        if (!exchange.getRequestURI().getPath().equals(LISTING_PATH)) {
            send(exchange, 404, Map.of("detail", "Not Found"));
            return;
        }
        if (!exchange.getRequestMethod().equals("GET")) {
            send(exchange, 405, Map.of("detail", "Method Not Allowed"));
            return;
        }
        Map<String, Object> page;
        try {
            page = listingPage(queryParams(exchange.getRequestURI().getRawQuery()));
        } catch (IllegalArgumentException e) {
            send(exchange, 400, Map.of("detail", e.getMessage()));
            return;
        }
        send(exchange, 200, page);
    }

    private Map<String, Object> listingPage(Map<String, List<String>> params) {
        List<String> endpoints = params.getOrDefault("endpoint_id", List.of()).stream()
                .flatMap(value -> Stream.of(value.split(","))).map(String::strip).toList();
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("endpoint_id is required");
        }
        List<String> requestIds = params.getOrDefault("request_id", List.of()).stream()
                .flatMap(value -> Stream.of(value.split(","))).map(String::strip).toList();
        Instant now = clock.instant();
        Instant start = param(params, "start") == null
                ? now.minus(requestIds.isEmpty() ? Duration.ofHours(24) : Duration.ofDays(90))
                : instantParam("start", param(params, "start"));
        Instant end = param(params, "end") == null ? now : instantParam("end", param(params, "end"));
        int limit = intParam("limit", param(params, "limit"), 100);
        if (limit < 1 || limit > 100) {
            throw new IllegalArgumentException("limit must be between 1 and 100, not " + limit);
        }
        int pageNumber = cursorPage(param(params, "cursor"));
        String status = param(params, "status");
        if (status != null && !List.of("success", "error", "user_error").contains(status)) {
            throw new IllegalArgumentException("status must be one of success, error, user_error, not " + status);
        }
        boolean payloads = params.getOrDefault("expand", List.of()).stream()
                .flatMap(value -> Stream.of(value.split(","))).anyMatch(value -> value.strip().equals("payloads"));

        Instant visibleUntil = now.minus(listingLag);
        List<FalRequestState> matching = endpoints.contains(ENDPOINT_ID) ? requests.values().stream()
                .filter(r -> !r.createdAt.isAfter(visibleUntil))
                .filter(r -> !r.createdAt.isBefore(start) && r.createdAt.isBefore(end))
                .filter(r -> requestIds.isEmpty() || requestIds.contains(r.id))
                .filter(r -> status == null || status.equals(statusClassOf(statusCodeOf(r))))
                .sorted(Comparator.comparing((FalRequestState r) -> r.createdAt).thenComparing(r -> r.id).reversed())
                .toList() : List.of();
        int from = Math.min((pageNumber - 1) * limit, matching.size());
        int to = Math.min(from + limit, matching.size());
        List<Map<String, Object>> items = new ArrayList<>();
        for (FalRequestState request : matching.subList(from, to)) {
            items.add(listingItem(request, payloads));
        }
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("items", items);
        page.put("has_more", to < matching.size());
        page.put("next_cursor", to < matching.size() ? encodeCursor(pageNumber + 1) : null);
        return page;
    }

    private Map<String, Object> listingItem(FalRequestState request, boolean payloads) {
        boolean completed = stateOf(request).equals("COMPLETED");
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("request_id", request.id);
        item.put("endpoint_id", ENDPOINT_ID);
        item.put("started_at", request.createdAt.toString());
        item.put("ended_at", completed ? endOf(request).toString() : null);
        item.put("duration", completed ? durationOf(request) : null);
        item.put("status_code", statusCodeOf(request));
        if (payloads) {
            item.put("json_input", request.input);
            item.put("json_output", completed ? outputOf(request) : null);
        }
        return item;
    }

    /** The HTTP status of a request's outcome: 200, 422 for a failed or cancelled one, null while not completed. */
    private Integer statusCodeOf(FalRequestState request) {
        if (!stateOf(request).equals("COMPLETED")) {
            return null;
        }
        return request.cancelled || request.fails ? 422 : 200;
    }

    private static String statusClassOf(Integer statusCode) {
        if (statusCode == null) {
            return null;
        }
        return statusCode < 400 ? "success" : statusCode < 500 ? "user_error" : "error";
    }

    private static Instant endOf(FalRequestState request) {
        Instant cancelledAt = request.cancelledAt;
        return request.cancelled && cancelledAt != null ? cancelledAt : request.createdAt.plus(request.queueTime).plus(request.runTime);
    }

    /** Seconds the request ran, or null when it never did (cancelled in the queue). */
    private static Double durationOf(FalRequestState request) {
        Duration ran = Duration.between(request.createdAt.plus(request.queueTime), endOf(request));
        return ran.isNegative() ? null : ran.toMillis() / 1000.0;
    }

    private static String param(Map<String, List<String>> params, String name) {
        List<String> values = params.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static Instant instantParam(String name, String text) {
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            // a date-time without an offset, or a date alone: UTC
        }
        try {
            return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            // a date alone?
        }
        try {
            return LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(name + " is not an ISO 8601 date-time: " + text);
        }
    }

    private static int intParam(String name, String text, int fallback) {
        if (text == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " is not an integer: " + text);
        }
    }

    /** A cursor is fal's: the base64 of the page number ("Mg==" is page 2). No cursor: page 1. */
    private static int cursorPage(String cursor) {
        if (cursor == null) {
            return 1;
        }
        try {
            int page = Integer.parseInt(new String(Base64.getDecoder().decode(cursor.strip()), StandardCharsets.UTF_8));
            if (page >= 1) {
                return page;
            }
        } catch (IllegalArgumentException e) { // not base64, or not a number (NumberFormatException is one)
            // answered below
        }
        throw new IllegalArgumentException("invalid cursor: " + cursor);
    }

    private static String encodeCursor(int page) {
        return Base64.getEncoder().encodeToString(Integer.toString(page).getBytes(StandardCharsets.UTF_8));
    }

    // --- HTTP helpers -----------------------------------------------------------------------------------

    private boolean authorizedQuietly(HttpExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        return header != null && header.equals("Key " + expectedKey);
    }

    private boolean authorized(HttpExchange exchange) throws IOException {
        if (!authorizedQuietly(exchange)) {
            send(exchange, 401, Map.of("detail", "No user found for Key ID and Secret"));
            return false;
        }
        return true;
    }

    private void record(HttpExchange exchange, String body) {
        Map<String, String> headers = new LinkedHashMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
        if (!recording) {
            return;
        }
        received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                exchange.getRequestURI().getRawQuery(), headers, body));
    }

    private void sendWithRetryAfter(HttpExchange exchange, int status, String detail) throws IOException {
        exchange.getResponseHeaders().add("Retry-After", "1");
        send(exchange, status, Map.of("detail", detail));
    }

    private void send(HttpExchange exchange, int status, Object body) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        sendBytes(exchange, status, json.writeValueAsBytes(body));
    }

    /** An intermediary's answer (a proxy or load balancer in front of fal): HTML, no fal JSON. */
    private static void sendHtml(HttpExchange exchange, int status, String html) throws IOException {
        exchange.getResponseHeaders().add("Content-Type", "text/html");
        sendBytes(exchange, status, html.getBytes(StandardCharsets.UTF_8));
    }

    private static String htmlPage(String statusLine) {
        return "<html><head><title>" + statusLine + "</title></head><body><center><h1>" + statusLine
                + "</h1></center></body></html>";
    }

    private static void sendBytes(HttpExchange exchange, int status, byte[] bytes) throws IOException {
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length); // 0 would mean chunked
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
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
