package dev.falgate;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/** {@link DatabaseClock} against the tests' real PostgreSQL, with local clocks skewed on purpose. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DatabaseClockTest {

    private static final Duration TOLERANCE = Duration.ofSeconds(1);

    @Test
    void followsPostgresWhenTheLocalClockIsSevenMinutesAhead() throws SQLException {
        DataSource database = database();
        try (DatabaseClock clock = new DatabaseClock(database, skewed(Duration.ofMinutes(7)))) {
            assertCloseToPostgres(clock, database);
            assertThat(clock.offset()).isCloseTo(Duration.ofMinutes(-7), TOLERANCE);
        }
    }

    @Test
    void followsPostgresWhenTheLocalClockIsThreeHoursBehind() throws SQLException {
        DataSource database = database();
        try (DatabaseClock clock = new DatabaseClock(database, skewed(Duration.ofHours(-3)))) {
            assertCloseToPostgres(clock, database);
            assertThat(clock.offset()).isCloseTo(Duration.ofHours(3), TOLERANCE);
        }
    }

    @Test
    void startsWithTheLocalClockWhenPostgresIsUnreachable() {
        Clock base = Clock.fixed(Instant.parse("2030-01-02T03:04:05.123456Z"), java.time.ZoneOffset.UTC);
        try (DatabaseClock clock = new DatabaseClock(unreachable(), base)) {
            assertThat(clock.instant()).isEqualTo(base.instant());
            assertThat(clock.offset()).isZero();
        }
    }

    @Test
    void picksUpPostgresTimeOnALaterRefreshWhenItWasDownAtStart() throws SQLException {
        AtomicBoolean down = new AtomicBoolean(true);
        DataSource database = database();
        try (DatabaseClock clock = new DatabaseClock(switchable(database, down), skewed(Duration.ofMinutes(7)),
                Duration.ofMillis(100))) {
            assertThat(clock.offset()).isZero();
            down.set(false);
            awaitTrue(() -> !clock.offset().isZero());
            assertCloseToPostgres(clock, database);
        }
    }

    @Test
    void keepsTheLastOffsetWhenARefreshFails() throws SQLException {
        AtomicBoolean down = new AtomicBoolean(false);
        DataSource database = database();
        try (DatabaseClock clock = new DatabaseClock(switchable(database, down), skewed(Duration.ofHours(-3)),
                Duration.ofMillis(100))) {
            Duration measured = clock.offset();
            assertThat(measured).isCloseTo(Duration.ofHours(3), TOLERANCE);
            down.set(true);
            sleep(Duration.ofMillis(500)); // several failed refreshes
            assertThat(clock.offset()).isEqualTo(measured);
            assertCloseToPostgres(clock, database);
        }
    }

    @Test
    void keepsItsTimeInOtherZones() throws SQLException {
        DataSource database = database();
        try (DatabaseClock clock = new DatabaseClock(database, skewed(Duration.ofMinutes(7)))) {
            Clock paris = clock.withZone(java.time.ZoneId.of("Europe/Paris"));
            assertThat(clock.getZone()).isEqualTo(java.time.ZoneOffset.UTC);
            assertThat(paris.getZone()).isEqualTo(java.time.ZoneId.of("Europe/Paris"));
            assertCloseToPostgres(paris, database);
        }
    }

    // --- helpers ----------------------------------------------------------------------------------

    private static Clock skewed(Duration skew) {
        return Clock.offset(Clock.systemUTC(), skew);
    }

    private static void assertCloseToPostgres(Clock clock, DataSource database) throws SQLException {
        Instant postgres = postgresNow(database);
        Instant ours = clock.instant();
        assertThat(Duration.between(postgres, ours).abs()).isLessThan(TOLERANCE);
    }

    private static Instant postgresNow(DataSource database) throws SQLException {
        try (Connection connection = database.getConnection();
                Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("select clock_timestamp()")) {
            result.next();
            return result.getObject(1, OffsetDateTime.class).toInstant();
        }
    }

    private static DataSource database() {
        return TestDatabase.dataSource();
    }

    /** Nothing listens on port 1: the connection is refused at once. */
    private static DataSource unreachable() {
        PGSimpleDataSource source = new PGSimpleDataSource();
        source.setURL("jdbc:postgresql://127.0.0.1:1/falgate_dev");
        source.setUser("postgres");
        source.setConnectTimeout(2);
        source.setSocketTimeout(2);
        return source;
    }

    /** {@code target}, except that getting a connection fails while {@code down} is set. */
    private static DataSource switchable(DataSource target, AtomicBoolean down) {
        return (DataSource) Proxy.newProxyInstance(DatabaseClockTest.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection") && down.get()) {
                        throw new SQLException("database down (test)");
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static void awaitTrue(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waited 10 s").isLessThan(deadline);
            sleep(Duration.ofMillis(20));
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
