package dev.falgate.access;

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

    public String value() {
        return value;
    }
}
