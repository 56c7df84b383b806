package dev.falgate;

import java.sql.SQLException;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Turns a missing required setting into Boot's short "APPLICATION FAILED TO START" report. */
class StartupFailureAnalyzer extends AbstractFailureAnalyzer<MissingSettingException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, MissingSettingException cause) {
        return new FailureAnalysis(cause.getMessage() + ".",
                "Set " + cause.variable() + " in the environment (see README, Configuration). "
                        + "Only './mvnw spring-boot:run' (the local profile) fills in local stand-ins.",
                cause);
    }

    /** PostgreSQL cannot be reached at all: say so instead of a pool's stack trace. */
    static class DatabaseUnreachable extends AbstractFailureAnalyzer<SQLException> {

        @Override
        protected FailureAnalysis analyze(Throwable rootFailure, SQLException cause) {
            String state = cause.getSQLState();
            if (state == null || !state.startsWith("08")) {
                return null;
            }
            return new FailureAnalysis("PostgreSQL could not be reached: " + cause.getMessage(),
                    "Set SPRING_DATASOURCE_URL, SPRING_DATASOURCE_USERNAME and SPRING_DATASOURCE_PASSWORD "
                            + "to a reachable PostgreSQL database (see README, Configuration).",
                    cause);
        }
    }
}
