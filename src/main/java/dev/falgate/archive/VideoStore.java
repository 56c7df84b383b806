package dev.falgate.archive;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import org.springframework.core.io.Resource;

/**
 * Where falgate keeps its own copies of output videos, since fal deletes its CDN files: a local directory
 * ({@link LocalVideoStore}) or an S3-compatible bucket ({@link S3VideoStore}). Keys are made by falgate
 * ({@code jobs/<job id>.mp4}), never by callers.
 */
interface VideoStore {

    /** Stores {@code file} under {@code key}, replacing what was there; a reader sees the whole file or none of it. */
    void put(String key, Path file, String contentType) throws IOException;

    /**
     * The stored bytes under {@code key}, or empty when nothing is stored. The resource knows its length, and a read
     * that starts with {@code skip(n)} starts at byte {@code n} without reading what it skips (a video seeks).
     */
    Optional<Resource> open(String key) throws IOException;
}
