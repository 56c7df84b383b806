package dev.falgate;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * PostgreSQL's LISTEN/NOTIFY, for news every instance must hear at once: a job changed (its SSE streams push it),
 * a key was revoked (its streams end). {@link #publish} inside a transaction is delivered when it commits and
 * never when it rolls back, so listeners hear only what the database holds.
 *
 * <p>One thread per instance holds one connection that listens. Notifications sent while it is disconnected are
 * lost, so after every (re)connect the {@link #onReconnect} hooks run: listeners re-read what they watch.
 */
@Component
public class DatabaseNotifications implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(DatabaseNotifications.class);
    private static final Duration WAIT = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
    /** Waiting for notifications sends nothing: a connection a network device dropped silently is found by a query. */
    private static final Duration PING_EVERY = Duration.ofSeconds(30);
    private static final int PING_TIMEOUT_SECONDS = 5;

    private final DataSource dataSource;
    private final JdbcClient jdbc;
    private final Map<String, List<Consumer<String>>> listeners = new ConcurrentHashMap<>();
    private final List<Runnable> reconnectHooks = new CopyOnWriteArrayList<>();
    private volatile Thread thread;
    private volatile boolean running;

    DatabaseNotifications(DataSource dataSource, JdbcClient jdbc) {
        this.dataSource = dataSource;
        this.jdbc = jdbc;
    }

    /** Sends {@code payload} on {@code channel}: at commit when called in a transaction, else at once. */
    public void publish(String channel, String payload) {
        jdbc.sql("select pg_notify(?, ?)").param(channel).param(payload).query((row, n) -> null).list();
    }

    /**
     * Calls {@code listener} with each payload on {@code channel}, on the listening thread: it must hand long work
     * elsewhere. Register before the application starts.
     */
    public void listen(String channel, Consumer<String> listener) {
        listeners.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).add(listener);
    }

    /** Runs {@code hook} after each (re)connect of the listening connection, when notifications may have been missed. */
    public void onReconnect(Runnable hook) {
        reconnectHooks.add(hook);
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::listenLoop, "falgate-db-notifications");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        Thread listening = thread;
        if (listening != null) {
            listening.interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Started before and stopped after the web server, so open streams keep hearing news while it drains. */
    @Override
    public int getPhase() {
        return 0;
    }

    private void listenLoop() {
        Duration backoff = Duration.ofMillis(100);
        boolean failing = false;
        while (running) {
            try (Connection connection = dataSource.getConnection()) {
                try (Statement statement = connection.createStatement()) {
                    for (String channel : listeners.keySet()) {
                        statement.execute("LISTEN " + channel); // channel names are our constants, never input
                    }
                }
                if (failing) {
                    log.info("Listening to PostgreSQL notifications again");
                    failing = false;
                }
                backoff = Duration.ofMillis(100);
                reconnectHooks.forEach(DatabaseNotifications::runSafely);
                PGConnection listening = connection.unwrap(PGConnection.class);
                long lastPing = System.nanoTime();
                while (running) {
                    if (System.nanoTime() - lastPing > PING_EVERY.toNanos()) {
                        try (Statement ping = connection.createStatement()) {
                            ping.setQueryTimeout(PING_TIMEOUT_SECONDS);
                            ping.execute("select 1");
                        }
                        lastPing = System.nanoTime();
                    }
                    PGNotification[] notifications = listening.getNotifications((int) WAIT.toMillis());
                    if (notifications != null) {
                        for (PGNotification notification : notifications) {
                            dispatch(notification.getName(), notification.getParameter());
                        }
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                if (!failing) {
                    log.warn("Lost the PostgreSQL notification connection; streams fall back to re-reading after "
                            + "reconnecting: {}", e.toString());
                    failing = true;
                }
                try {
                    Thread.sleep(backoff.toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    private void dispatch(String channel, String payload) {
        for (Consumer<String> listener : listeners.getOrDefault(channel, List.of())) {
            runSafely(() -> listener.accept(payload));
        }
    }

    private static void runSafely(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            log.warn("A notification listener failed: {}", e.toString());
        }
    }
}
