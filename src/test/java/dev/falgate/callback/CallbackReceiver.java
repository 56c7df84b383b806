package dev.falgate.callback;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A caller's callback endpoint on 127.0.0.1: records every request it receives and answers with what the test
 * scripted ({@link #answerNext}), else 204.
 */
public final class CallbackReceiver implements AutoCloseable {

    /** One request as received: path, headers (lower-case names) and body. */
    public record Received(String path, Map<String, List<String>> headers, String body) {

        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? null : values.get(0);
        }
    }

    /** A scripted answer: a status, optional headers, a body of {@code bodyBytes} bytes, or silence for a while. */
    public record Answer(int status, Map<String, String> headers, int bodyBytes, long hangMillis) {

        public static Answer status(int status) {
            return new Answer(status, Map.of(), 0, 0);
        }
    }

    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Deque<Answer>> scripts = new java.util.concurrent.ConcurrentHashMap<>();

    private CallbackReceiver(HttpServer server) {
        this.server = server;
    }

    public static CallbackReceiver start() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
            CallbackReceiver receiver = new CallbackReceiver(server);
            server.createContext("/", receiver::handle);
            server.setExecutor(Executors.newCachedThreadPool(runnable -> {
                Thread thread = new Thread(runnable, "callback-receiver");
                thread.setDaemon(true);
                return thread;
            }));
            server.start();
            return receiver;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code http://127.0.0.1:port}: the origin tests put on FALGATE_CALLBACK_ALLOWED_HOSTS. */
    public URI origin() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    public String url(String path) {
        return origin() + path;
    }

    /** The next answers to requests for {@code path}, in order; then 204 again. */
    public void answerNext(String path, Answer... answers) {
        scripts.computeIfAbsent(path, p -> new ConcurrentLinkedDeque<>()).addAll(List.of(answers));
    }

    public List<Received> received(String path) {
        return received.stream().filter(r -> r.path().equals(path)).toList();
    }

    public void reset() {
        scripts.clear();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange; InputStream in = exchange.getRequestBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            Map<String, List<String>> headers = new TreeMap<>();
            exchange.getRequestHeaders().forEach((name, values) ->
                    headers.put(name.toLowerCase(Locale.ROOT), new ArrayList<>(values)));
            received.add(new Received(exchange.getRequestURI().getRawPath(), headers, body));
            Deque<Answer> script = scripts.get(exchange.getRequestURI().getRawPath());
            Answer answer = script == null ? null : script.poll();
            if (answer == null) {
                answer = Answer.status(204);
            }
            if (answer.hangMillis() > 0) {
                try {
                    Thread.sleep(answer.hangMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            answer.headers().forEach(exchange.getResponseHeaders()::add);
            if (answer.bodyBytes() == 0) {
                exchange.sendResponseHeaders(answer.status(), -1);
                return;
            }
            exchange.sendResponseHeaders(answer.status(), answer.bodyBytes());
            OutputStream out = exchange.getResponseBody();
            byte[] chunk = new byte[8192];
            try {
                for (int sent = 0; sent < answer.bodyBytes(); sent += chunk.length) {
                    out.write(chunk, 0, Math.min(chunk.length, answer.bodyBytes() - sent));
                }
            } catch (IOException e) {
                // the gateway stops reading after 64 KiB and closes the connection
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
