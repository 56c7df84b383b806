package dev.falgate.facade;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.UriComponentsBuilder;
import org.springframework.web.util.UriUtils;

import dev.falgate.access.Caller;
import dev.falgate.access.RequiresScope;
import dev.falgate.access.Scope;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import tools.jackson.databind.JsonNode;

/**
 * {@code /fal/proxy}, the route fal's JS and Java clients call when given {@code proxyUrl}: the real target is in
 * {@code x-fal-target-url}. falgate serves the target itself when it is one of the queue routes on
 * {@code https://queue.fal.run} or the synchronous {@code https://fal.run} route of the one endpoint it fronts,
 * compared on the parsed URL (scheme, host, port, path), never as a substring; every other target is refused with
 * 403. Nothing is ever forwarded anywhere from here.
 */
@RestController
@Tag(name = "fal-compatible queue")
class FalProxyController {

    static final String TARGET_HEADER = "x-fal-target-url";
    private static final Pattern REQUEST_PATH = Pattern.compile(
            "/" + Pattern.quote(FalAnswers.APP) + "/requests/([^/]+)(/status|/status/stream|/cancel)?");

    private final FalQueueController queue;

    FalProxyController(FalQueueController queue) {
        this.queue = queue;
    }

    @Operation(operationId = "falProxy", summary = "fal's client proxy: serves the queue and run targets of "
            + FalAnswers.ENDPOINT + " named in x-fal-target-url itself; any other target is 403")
    @RequiresScope({Scope.JOBS_CREATE, Scope.JOBS_READ, Scope.OPS_READ})
    @RequestMapping(path = "/fal/proxy", method = {RequestMethod.GET, RequestMethod.POST, RequestMethod.PUT})
    ResponseEntity<?> proxy(Caller caller, HttpServletRequest request,
            @RequestHeader(name = TARGET_HEADER, required = false) String target,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey,
            @RequestBody(required = false) JsonNode body) throws InterruptedException {
        if (target == null || target.isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "validation_failed",
                    "Name the fal URL this request is for in the " + TARGET_HEADER + " header.");
        }
        URI url = parse(target);
        String host = url.getHost().toLowerCase(Locale.ROOT);
        String path = url.getRawPath() == null ? "" : url.getRawPath();
        String method = request.getMethod();
        String logs = query(url, "logs");
        if (host.equals("queue.fal.run")) {
            if (path.equals("/" + FalAnswers.ENDPOINT) && method.equals("POST")) {
                require(caller, Scope.JOBS_CREATE);
                String webhook = query(url, "fal_webhook");
                return queue.submit(caller, body, webhook, idempotencyKey);
            }
            Matcher requestPath = REQUEST_PATH.matcher(path);
            if (requestPath.matches()) {
                String id = requestPath.group(1);
                String action = requestPath.group(2) == null ? "" : requestPath.group(2);
                switch (action + " " + method) {
                    case " GET" -> {
                        requireReader(caller);
                        return queue.result(caller, id);
                    }
                    case "/status GET" -> {
                        requireReader(caller);
                        return queue.status(caller, id, logs);
                    }
                    case "/status/stream GET" -> {
                        requireReader(caller);
                        return queue.statusStream(caller, id, logs);
                    }
                    case "/cancel PUT" -> {
                        require(caller, Scope.JOBS_CREATE);
                        return queue.cancel(caller, id);
                    }
                    default -> {
                        // a known path with the wrong method: refused below like any other target
                    }
                }
            }
        } else if (host.equals("fal.run") && path.equals("/" + FalAnswers.ENDPOINT) && method.equals("POST")) {
            require(caller, Scope.JOBS_CREATE);
            return queue.run(caller, body, idempotencyKey);
        }
        throw refused(method + " " + url.getScheme() + "://" + host + path);
    }

    /**
     * The target as a URL fal's clients build: https on the default port, no credentials. Anything else, and any
     * spelling that could be read two ways, is refused.
     */
    private static URI parse(String target) {
        URI url;
        try {
            url = new URI(target);
        } catch (URISyntaxException e) {
            throw refused("a target that is not a URL");
        }
        if (!"https".equalsIgnoreCase(url.getScheme()) || url.getHost() == null || url.getRawUserInfo() != null
                || url.getRawFragment() != null || (url.getPort() != -1 && url.getPort() != 443)) {
            throw refused(target.length() > 200 ? target.substring(0, 200) + "…" : target);
        }
        return url;
    }

    /** A query parameter of the target, percent-decoded (fal's JS client encodes fal_webhook). */
    private static String query(URI url, String name) {
        String raw = UriComponentsBuilder.fromUri(url).build().getQueryParams().getFirst(name);
        if (raw == null) {
            return null;
        }
        try {
            return UriUtils.decode(raw, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "validation_failed", "The target's " + name
                    + " parameter is not validly percent-encoded.", List.of(new FieldProblem(name, "is not validly "
                    + "percent-encoded")));
        }
    }

    private static ApiException refused(String what) {
        return new ApiException(HttpStatus.FORBIDDEN, "forbidden", "falgate's proxy serves only fal's queue and run "
                + "routes of " + FalAnswers.ENDPOINT + " (https://queue.fal.run, https://fal.run); not " + what + ".");
    }

    private static void require(Caller caller, Scope scope) {
        if (!caller.has(scope)) {
            throw new ApiException(HttpStatus.FORBIDDEN, "forbidden", "This API key lacks the '" + scope.value()
                    + "' scope this target needs.");
        }
    }

    private static void requireReader(Caller caller) {
        if (!caller.has(Scope.JOBS_READ) && !caller.has(Scope.OPS_READ)) {
            throw new ApiException(HttpStatus.FORBIDDEN, "forbidden", "This API key lacks the 'jobs:read' or "
                    + "'ops:read' scope this target needs.");
        }
    }
}
