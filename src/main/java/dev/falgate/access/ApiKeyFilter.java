package dev.falgate.access;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.util.MultiValueMap;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.UriComponentsBuilder;

import dev.falgate.web.Problems;
import dev.falgate.web.RoutedPath;

/**
 * Every {@code /v1/**} request, and every one in fal's protocol ({@code /fal-ai/**}, {@code /fal/proxy}), needs
 * {@code Authorization: Bearer <key>} (or {@code Key <key>}, as fal's clients send it); without a known key it is
 * answered 401 before anything else looks at it (the body limit, the route, the body), and a key over its rate
 * limit 429 with Retry-After. Scopes are checked per route by {@link ScopeCheck}, still before the body is read.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class ApiKeyFilter extends OncePerRequestFilter {

    static final String CALLER_ATTRIBUTE = Caller.class.getName();
    private static final String BEARER = "bearer ";
    /** What fal's clients send with {@code credentials}: {@code Authorization: Key <key>}. */
    private static final String KEY = "key ";

    private final ApiKeyAuthenticator authenticator;
    private final SignedUrls signedUrls;
    private final RateLimiter rateLimiter;
    private final Problems problems;
    private final Clock clock;

    ApiKeyFilter(ApiKeyAuthenticator authenticator, RateLimiter rateLimiter, Problems problems, Clock clock,
            SignedUrls signedUrls) {
        this.signedUrls = signedUrls;
        this.authenticator = authenticator;
        this.rateLimiter = rateLimiter;
        this.problems = problems;
        this.clock = clock;
    }

    /** falgate's API and the routes that speak fal's protocol ({@code facade}): fal's queue paths and the proxy. */
    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = RoutedPath.of(request);
        return !path.startsWith("/v1/") && !path.startsWith("/fal-ai/") && !path.equals("/fal/proxy");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getHeader(HttpHeaders.AUTHORIZATION) == null && signedUrlAttempt(request)) {
            MultiValueMap<String, String> query = UriComponentsBuilder.newInstance().query(request.getQueryString())
                    .build().getQueryParams();
            String path = RoutedPath.of(request);
            if (!signedUrls.verify(request.getMethod(), path, query.getFirst("expires"), query.getFirst("sig"))) {
                problems.write(response, HttpStatus.FORBIDDEN, "forbidden", "The signed URL is wrong or has expired.");
                return;
            }
            request.setAttribute(SignedUrls.VERIFIED_PATH, path); // no caller: the handler serves this path only
            chain.doFilter(request, response);
            return;
        }
        Optional<Caller> caller = presentedKey(request).flatMap(authenticator::authenticate);
        if (caller.isEmpty()) {
            response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
            problems.write(response, HttpStatus.UNAUTHORIZED, "unauthorized",
                    "A valid API key is required: send 'Authorization: Bearer <key>' (or 'Key <key>').");
            return;
        }
        Integer limit = caller.get().rateLimitPerMinute();
        if (limit != null) {
            Duration wait = rateLimiter.waitBeforeNext(caller.get().keyId(), limit, clock.instant());
            if (!wait.isZero()) {
                long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
                response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
                problems.write(response, HttpStatus.TOO_MANY_REQUESTS, "rate_limited",
                        "This API key may make " + limit + " requests a minute; retry in " + seconds + " s.");
                return;
            }
        }
        request.setAttribute(CALLER_ATTRIBUTE, caller.get());
        chain.doFilter(request, response);
    }

    /** A GET or HEAD carrying {@code sig}: read from the raw query (asking for parameters could read a body). */
    private static boolean signedUrlAttempt(HttpServletRequest request) {
        String query = request.getQueryString();
        return (request.getMethod().equals("GET") || request.getMethod().equals("HEAD")) && query != null
                && (query.startsWith("sig=") || query.contains("&sig="));
    }

    private static Optional<String> presentedKey(HttpServletRequest request) {
        List<String> headers = Collections.list(request.getHeaders(HttpHeaders.AUTHORIZATION));
        if (headers.size() != 1) {
            return Optional.empty(); // none, or two that a proxy in front may read differently from us
        }
        String header = headers.get(0);
        for (String scheme : List.of(BEARER, KEY)) {
            if (header != null && header.length() > scheme.length()
                    && header.regionMatches(true, 0, scheme, 0, scheme.length())) {
                String key = header.substring(scheme.length()).strip();
                return key.isEmpty() ? Optional.empty() : Optional.of(key);
            }
        }
        return Optional.empty();
    }
}
