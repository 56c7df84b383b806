package dev.falgate.job;

import com.fasterxml.jackson.annotation.JsonValue;
import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;

/** A job's life, in order: it only ever moves to a later state (see {@link Job}). */
public enum JobStatus {
    QUEUED, SUBMITTED, IN_PROGRESS, COMPLETED, FAILED, CANCELLED;

    @JsonValue
    public String value() {
        return name().toLowerCase();
    }

    public boolean isTerminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    static JobStatus of(String value) {
        return valueOf(value.toUpperCase());
    }

    /** Stored as the lowercase API value, which the table's check constraint lists. */
    @Converter(autoApply = true)
    static class Column implements AttributeConverter<JobStatus, String> {

        @Override
        public String convertToDatabaseColumn(JobStatus status) {
            return status == null ? null : status.value();
        }

        @Override
        public JobStatus convertToEntityAttribute(String value) {
            return value == null ? null : of(value);
        }
    }
}
