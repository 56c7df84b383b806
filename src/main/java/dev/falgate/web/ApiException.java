package dev.falgate.web;

import java.util.List;

import org.springframework.http.HttpStatus;

/**
 * A failure a caller can act on. Its {@link #code} is the stable machine code at the end of the
 * problem {@code type}; the message is the problem's {@code detail} and must never carry a secret.
 */
public class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String code;
    private final List<FieldProblem> errors;

    public ApiException(HttpStatus status, String code, String detail) {
        this(status, code, detail, List.of());
    }

    public ApiException(HttpStatus status, String code, String detail, List<FieldProblem> errors) {
        super(detail, null, false, false);
        this.status = status;
        this.code = code;
        this.errors = List.copyOf(errors);
    }

    public HttpStatus status() {
        return status;
    }

    public String code() {
        return code;
    }

    public List<FieldProblem> errors() {
        return errors;
    }

    public static ApiException validationFailed(List<FieldProblem> errors) {
        return new ApiException(HttpStatus.BAD_REQUEST, "validation_failed",
                "The request has " + errors.size() + " invalid field(s); see errors.", errors);
    }

    public static ApiException notFound(String detail) {
        return new ApiException(HttpStatus.NOT_FOUND, "not_found", detail);
    }
}
