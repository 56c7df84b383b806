package dev.falgate;

import java.time.Duration;
import java.util.function.IntSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A daemon thread of its own that runs a round over and over, pausing while a round finds nothing to do: how the
 * archive's copies and the callbacks' deliveries run in the background, each apart from Spring's one scheduling
 * thread (which feeds every SSE stream), so a slow CDN or a receiver that never answers delays nothing else.
 * Tests never start it; they call the same round themselves.
 */
public final class BackgroundLoop {

    private static final Logger log = LoggerFactory.getLogger(BackgroundLoop.class);

    private final String name;
    private final IntSupplier round;
    private final Duration idle;
    private volatile Thread thread;
    private volatile boolean running;
    private volatile long lastRoundAt = System.nanoTime();

    /** {@code round} returns how much it did; at 0 the loop rests for {@code idle} before the next. */
    public BackgroundLoop(String name, IntSupplier round, Duration idle) {
        this.name = name;
        this.round = round;
        this.idle = idle;
    }

    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        lastRoundAt = System.nanoTime();
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    public synchronized void stop() {
        running = false;
        Thread current = thread;
        if (current != null) {
            current.interrupt();
            try {
                current.join(Duration.ofSeconds(10).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public boolean isRunning() {
        return running;
    }

    /** Whether the loop runs and finished a round within {@code within}: false when its thread died or hangs. */
    public boolean isLive(Duration within) {
        Thread current = thread;
        return running && current != null && current.isAlive()
                && System.nanoTime() - lastRoundAt <= within.toNanos();
    }

    private void run() {
        while (running) {
            int done;
            try {
                done = round.getAsInt();
            } catch (RuntimeException e) {
                log.warn("{}: round failed; trying again shortly: {}", name, e.toString());
                done = 0;
            }
            lastRoundAt = System.nanoTime();
            if (done == 0) {
                try {
                    Thread.sleep(idle.toMillis());
                } catch (InterruptedException e) {
                    return; // stopping
                }
            }
        }
    }
}
