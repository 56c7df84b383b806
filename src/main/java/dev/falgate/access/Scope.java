package dev.falgate.access;

import java.util.Arrays;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonValue;

/** What an API key may do (api.md, Authentication). */
public enum Scope {
    /** Submit and cancel the own client's jobs. */
    JOBS_CREATE("jobs:create"),
    /** Read the own client's jobs. */
    JOBS_READ("jobs:read"),
    /** Read every job, the history and the spend. */
    OPS_READ("ops:read"),
    /** Everything, plus keys and budgets. */
    ADMIN("admin");

    private final String value;

    Scope(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }

    public static Optional<Scope> of(String value) {
        return Arrays.stream(values()).filter(scope -> scope.value.equals(value)).findFirst();
    }
}
