package dev.falgate.web;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import jakarta.servlet.http.HttpServletRequest;

/**
 * The path of a request as Spring MVC routes it, for the filters that run before Spring: percent-decoded.
 * {@link PathGuardFilter} has already refused every spelling where decoding is not the only difference
 * ({@code ;parameters}, {@code //}, dot segments, encoded separators), so a filter that decides on this path
 * decides on the route the request reaches.
 */
public final class RoutedPath {

    private RoutedPath() {
    }

    public static String of(HttpServletRequest request) {
        String raw = request.getRequestURI().substring(request.getContextPath().length());
        return decode(raw).orElse(raw);
    }

    /** Why {@code rawPath} could be read two ways, or empty when it means exactly its decoded self. */
    static Optional<String> ambiguity(String rawPath) {
        if (rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return Optional.of("must start with '/'");
        }
        if (rawPath.indexOf(';') >= 0) {
            return Optional.of("must not carry ';' parameters");
        }
        if (rawPath.indexOf('\\') >= 0) {
            return Optional.of("must not contain '\\'");
        }
        if (rawPath.contains("//")) {
            return Optional.of("must not contain empty segments ('//')");
        }
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return Optional.of("must not contain control characters");
            }
            if (c == '%') {
                int decoded = i + 2 < rawPath.length() ? hex(rawPath.charAt(i + 1), rawPath.charAt(i + 2)) : -1;
                if (decoded < 0) {
                    return Optional.of("has a malformed percent-encoding");
                }
                if (decoded < 0x20 || decoded == 0x7f || "/\\;%.".indexOf(decoded) >= 0) {
                    return Optional.of("must not percent-encode '/', '\\', ';', '%', '.' or control characters");
                }
            }
        }
        for (String segment : rawPath.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return Optional.of("must not contain '.' or '..' segments");
            }
        }
        if (decode(rawPath).isEmpty()) {
            return Optional.of("is not valid UTF-8 once decoded");
        }
        return Optional.empty();
    }

    /** Percent-decoded as strict UTF-8; empty when an escape is malformed or the bytes are not UTF-8. */
    static Optional<String> decode(String raw) {
        if (raw.indexOf('%') < 0) {
            return Optional.of(raw);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length() && hex(raw.charAt(i + 1), raw.charAt(i + 2)) >= 0) {
                bytes.write(hex(raw.charAt(i + 1), raw.charAt(i + 2)));
                i += 2;
            } else if (c == '%') {
                return Optional.empty();
            } else {
                byte[] encoded = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(encoded, 0, encoded.length);
            }
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes.toByteArray()))
                    .toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            return Optional.empty();
        }
    }

    private static int hex(char high, char low) {
        int h = Character.digit(high, 16);
        int l = Character.digit(low, 16);
        return h < 0 || l < 0 ? -1 : h * 16 + l;
    }
}
