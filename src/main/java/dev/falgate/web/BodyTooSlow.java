package dev.falgate.web;

import java.io.IOException;

/** Thrown while reading a request body that has taken longer than BodySizeLimitFilter allows a whole body (408). */
public final class BodyTooSlow extends IOException {

    BodyTooSlow(String detail) {
        super(detail);
    }
}
