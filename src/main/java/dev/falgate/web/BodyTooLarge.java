package dev.falgate.web;

import java.io.IOException;

/** Thrown while reading a request body that is, or turns out to be, longer than BodySizeLimitFilter allows (413). */
public final class BodyTooLarge extends IOException {

    BodyTooLarge(String detail) {
        super(detail);
    }
}
