package dev.falgate.web;

import java.util.List;
import java.util.Optional;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Refuses, once for every route, input no route could read, which would otherwise surface as a 500 from deep
 * inside whatever took it: a query parameter with malformed percent-encoding, bytes that are not UTF-8, a NUL or
 * other control character (PostgreSQL refuses them in text), too many parameters (400); a Content-Type that does
 * not parse, names a wildcard or an unknown charset (415). Runs after the key and scope checks (its order is after
 * ScopeCheck's), so callers without them learn nothing about their input.
 */
@Configuration(proxyBeanMethods = false)
class RequestInputCheck implements HandlerInterceptor, WebMvcConfigurer {

    /** After ScopeCheck, which registers at the default order 0. */
    private static final int ORDER = 10;
    /** Far more than any route takes, far fewer than Tomcat's own limit, which it answers without a problem body. */
    private static final int MAX_PARAMETERS = 100;

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this).order(ORDER);
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        String contentType = request.getContentType();
        if (contentType != null && !readable(contentType)) {
            String detail = "Content-Type '" + printable(contentType) + "' is not a media type a body can be read as; "
                    + "send application/json.";
            throw new ApiException(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail,
                    List.of(new FieldProblem("Content-Type", detail)));
        }
        badQueryParameter(request.getQueryString()).ifPresent(problem -> {
            throw new ApiException(HttpStatus.BAD_REQUEST, "validation_failed",
                    "A query parameter " + problem.message() + ".", List.of(problem));
        });
        return true;
    }

    /** Parsed from the raw query string: asking Tomcat for parameters could read a form body. */
    static Optional<FieldProblem> badQueryParameter(String query) {
        if (query == null || query.isEmpty()) {
            return Optional.empty();
        }
        String[] pairs = query.split("&");
        if (pairs.length > MAX_PARAMETERS) {
            return Optional.of(new FieldProblem("query", "has " + pairs.length + " parameters; no route takes more than "
                    + MAX_PARAMETERS));
        }
        for (String pair : pairs) {
            int equals = pair.indexOf('=');
            String rawName = equals < 0 ? pair : pair.substring(0, equals);
            // strict UTF-8: Tomcat answers malformed bytes (or an encoded lone surrogate) with an exception of its own
            Optional<String> name = RoutedPath.decode(rawName.replace('+', ' '));
            Optional<String> value = equals < 0 ? Optional.of("")
                    : RoutedPath.decode(pair.substring(equals + 1).replace('+', ' '));
            if (name.isPresent() && name.get().isEmpty() && !pair.isEmpty()) {
                return Optional.of(new FieldProblem("query", "has a parameter without a name"));
            }
            if (name.isEmpty() || value.isEmpty()) {
                return Optional.of(new FieldProblem(printable(name.orElse(rawName)),
                        "has a malformed percent-encoding or is not UTF-8"));
            }
            if (hasControlCharacter(name.get()) || hasControlCharacter(value.get())) {
                return Optional.of(new FieldProblem(printable(name.get()), "must not contain NUL or other control characters"));
            }
        }
        return Optional.empty();
    }

    /** Spring refuses wildcards in a request's Content-Type with an IllegalArgumentException (a 500). */
    private static boolean readable(String contentType) {
        try {
            MediaType type = MediaType.parseMediaType(contentType);
            if (type.isWildcardType() || type.isWildcardSubtype()) {
                return false;
            }
            type.getCharset(); // an unknown or malformed charset throws
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean hasControlCharacter(String text) {
        return text.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
    }

    /** The parameter's name as a problem can safely show it. */
    private static String printable(String name) {
        String shown = name.codePoints().filter(c -> c >= 0x20 && c != 0x7f).limit(100)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return shown.isEmpty() ? "query" : shown;
    }
}
