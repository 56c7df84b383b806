package dev.falgate.archive;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.function.client.WebClient;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import dev.falgate.web.AllowedHosts;

/**
 * Downloads an output video from fal's CDN into a temporary file: streaming (never the whole file in memory), only
 * from allowed hosts, redirects followed only within them, at most {@code maxBytes}; then its size and SHA-256.
 */
final class MediaFetcher {

    private static final int MAX_REDIRECTS = 5;
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private final WebClient web;
    private final AllowedHosts allowed;
    private final long maxBytes;

    MediaFetcher(WebClient web, AllowedHosts allowed, long maxBytes) {
        this.web = web;
        this.allowed = allowed;
        this.maxBytes = maxBytes;
    }

    /** A copy that can't succeed by trying again (a host off the allow-list, a file over the cap). */
    static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    record Fetched(Path file, long bytes, String sha256, String contentType) {
    }

    Fetched fetch(URI url, Path into) throws IOException {
        URI current = url;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            if (!allowed.allows(current)) {
                throw new Refused("host of " + current.getScheme() + "://" + current.getHost()
                        + " is not on FALGATE_ARCHIVE_ALLOWED_HOSTS (" + allowed + ")");
            }
            Outcome outcome = get(current, into);
            if (outcome.redirect() == null) {
                return digest(into, outcome.contentType());
            }
            current = current.resolve(outcome.redirect());
        }
        throw new Refused("more than " + MAX_REDIRECTS + " redirects");
    }

    private record Outcome(URI redirect, String contentType) {
    }

    private Outcome get(URI url, Path into) throws IOException {
        AtomicLong written = new AtomicLong();
        try {
            return web.get().uri(url).exchangeToMono(response -> {
                if (response.statusCode().is3xxRedirection()) {
                    String location = response.headers().header(HttpHeaders.LOCATION).stream().findFirst().orElse(null);
                    return response.releaseBody().then(location == null
                            ? Mono.error(new IOException("redirect without Location"))
                            : Mono.just(new Outcome(URI.create(location), null)));
                }
                if (!response.statusCode().is2xxSuccessful()) {
                    return response.releaseBody().then(Mono.error(new IOException("the CDN answered "
                            + response.statusCode().value())));
                }
                long declared = response.headers().contentLength().orElse(-1);
                if (declared > maxBytes) {
                    return response.releaseBody().then(Mono.error(new Refused("the file has " + declared
                            + " bytes, over FALGATE_ARCHIVE_MAX_BYTES (" + maxBytes + ")")));
                }
                String type = response.headers().contentType().map(Object::toString).orElse("video/mp4");
                Flux<DataBuffer> body = response.bodyToFlux(DataBuffer.class).handle((buffer, sink) -> {
                    if (written.addAndGet(buffer.readableByteCount()) > maxBytes) {
                        DataBufferUtils.release(buffer);
                        sink.error(new Refused("the file grew past FALGATE_ARCHIVE_MAX_BYTES (" + maxBytes + ")"));
                    } else {
                        sink.next(buffer);
                    }
                });
                return DataBufferUtils.write(body, into).then(Mono.just(new Outcome(null, type)));
            }).block(TIMEOUT);
        } catch (RuntimeException e) {
            Throwable cause = reactor.core.Exceptions.unwrap(e);
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException("fetching the video failed: " + cause, cause);
        }
    }

    private static Fetched digest(Path file, String contentType) throws IOException {
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha256)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return new Fetched(file, Files.size(file), HexFormat.of().formatHex(sha256.digest()), contentType);
    }
}
