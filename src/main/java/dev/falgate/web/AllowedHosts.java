package dev.falgate.web;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * An allow-list of URLs falgate calls ({@code FALGATE_ARCHIVE_ALLOWED_HOSTS}, {@code FALGATE_CALLBACK_ALLOWED_HOSTS}):
 * host patterns, https only ({@code fal.media}, {@code *.fal.media} for its subdomains), or whole origins
 * ({@code http://127.0.0.1:8099}), which also allow http. Compared on the parsed URL (scheme, host, port), never as
 * substrings.
 */
public final class AllowedHosts {

    private final List<String> entries;

    public AllowedHosts(List<String> entries) {
        this.entries = entries.stream().map(String::strip).filter(entry -> !entry.isEmpty())
                .map(entry -> entry.toLowerCase(Locale.ROOT)).toList();
    }

    public boolean allows(URI url) {
        if (url == null || url.getHost() == null || url.getRawUserInfo() != null || url.getScheme() == null) {
            return false;
        }
        String scheme = url.getScheme().toLowerCase(Locale.ROOT);
        String host = url.getHost().toLowerCase(Locale.ROOT);
        int port = url.getPort() >= 0 ? url.getPort() : scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
        for (String entry : entries) {
            if (entry.contains("://")) {
                URI origin = URI.create(entry);
                int originPort = origin.getPort() >= 0 ? origin.getPort() : origin.getScheme().equals("https") ? 443 : 80;
                if (origin.getScheme().equals(scheme) && host.equals(origin.getHost()) && port == originPort) {
                    return true;
                }
            } else if (scheme.equals("https") && port == 443 && matches(entry, host)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            String parent = pattern.substring(1); // ".fal.media"
            return host.endsWith(parent) && host.length() > parent.length();
        }
        return host.equals(pattern);
    }

    @Override
    public String toString() {
        return String.join(",", entries);
    }
}
