package dev.falgate.archive;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;

/** Videos in a local directory ({@code FALGATE_ARCHIVE_DIR}); a file appears whole, by an atomic rename. */
final class LocalVideoStore implements VideoStore {

    private final Path dir;

    LocalVideoStore(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir).toAbsolutePath().normalize();
    }

    @Override
    public void put(String key, Path file, String contentType) throws IOException {
        Path target = pathOf(key);
        Files.createDirectories(target.getParent());
        Path partial = Files.createTempFile(target.getParent(), ".incoming-", ".part");
        try {
            Files.copy(file, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    @Override
    public Optional<Resource> open(String key) {
        Path file = pathOf(key);
        // FileSystemResource's stream is a FileChannel's: skip(n) moves the position without reading
        return Files.isRegularFile(file) ? Optional.of(new FileSystemResource(file)) : Optional.empty();
    }

    /** Keys are falgate's own ({@code jobs/<uuid>.mp4}); still, none may leave the directory. */
    private Path pathOf(String key) {
        Path path = dir.resolve(key).normalize();
        if (!path.startsWith(dir)) {
            throw new IllegalArgumentException("storage key outside the archive directory");
        }
        return path;
    }
}
