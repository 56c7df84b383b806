package dev.falgate.fal;

/** fal's answer to a cancel: asked (fal stops it if it is still queued), too late, unknown, or no answer. */
public enum CancelOutcome {
    REQUESTED, ALREADY_COMPLETED, NOT_FOUND, UNAVAILABLE
}
