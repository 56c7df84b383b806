package dev.falgate.web;

/** One offending field of a request, by its JSON path (e.g. {@code input.video.video_url}). */
public record FieldProblem(String field, String message) {
}
