package dev.falgate.fal;

import java.net.URI;

/** A request fal holds for us: its id and the URLs fal returned for following it up. */
public record FalRequest(String requestId, URI statusUrl, URI responseUrl, URI cancelUrl) {
}
