package dev.falgate.web;

import java.util.List;
import java.util.UUID;

import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;

import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.DatabindException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * The one place where failures become RFC 9457 problems: our own {@link ApiException}s, every Spring
 * MVC exception (malformed JSON, wrong content type, unknown route, wrong method, ...) and anything
 * unexpected, which is logged here with a reference and answered without internals.
 */
@RestControllerAdvice
class ProblemAdvice extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemAdvice.class);

    @ExceptionHandler(ApiException.class)
    ResponseEntity<ProblemDetail> handleApiException(ApiException e) {
        return ResponseEntity.status(e.status()).body(Problems.of(e.status(), e.code(), e.getMessage(), e.errors()));
    }

    /** A body read by a handler itself (fal's webhook) ran past the cap or the deadline. */
    @ExceptionHandler({BodyTooLarge.class, BodyTooSlow.class})
    ResponseEntity<ProblemDetail> handleBodyRefused(Exception e) {
        return e instanceof BodyTooLarge
                ? bodyProblem(HttpStatus.PAYLOAD_TOO_LARGE, "payload_too_large", BodySizeLimitFilter.TOO_LARGE_DETAIL)
                : bodyProblem(HttpStatus.REQUEST_TIMEOUT, "request_timeout", BodySizeLimitFilter.TOO_SLOW_DETAIL);
    }

    private static ResponseEntity<ProblemDetail> bodyProblem(HttpStatus status, String code, String detail) {
        return ResponseEntity.status(status).body(Problems.of(status, code, detail, List.of(new FieldProblem("body", detail))));
    }

    /** Tomcat refused the query string (RequestInputCheck catches the common cases first, with better words). */
    @ExceptionHandler(InvalidParameterException.class)
    ResponseEntity<ProblemDetail> handleInvalidParameter(InvalidParameterException e) {
        String detail = "The query string could not be read; send UTF-8, percent-encoded, named parameters.";
        return ResponseEntity.badRequest().body(Problems.of(HttpStatus.BAD_REQUEST, "validation_failed", detail,
                List.of(new FieldProblem("query", detail))));
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> handleUnexpected(Exception e) {
        String reference = UUID.randomUUID().toString();
        log.error("Unexpected failure, reference {}", reference, e);
        return ResponseEntity.internalServerError().body(Problems.of(HttpStatus.INTERNAL_SERVER_ERROR, "internal_error",
                "An unexpected error occurred; it was logged with reference " + reference + ".", List.of()));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        if (causedBy(e, BodyTooLarge.class)) {
            return problem(HttpStatus.PAYLOAD_TOO_LARGE, "payload_too_large", BodySizeLimitFilter.TOO_LARGE_DETAIL,
                    List.of(new FieldProblem("body", BodySizeLimitFilter.TOO_LARGE_DETAIL)));
        }
        if (causedBy(e, BodyTooSlow.class)) {
            return problem(HttpStatus.REQUEST_TIMEOUT, "request_timeout", BodySizeLimitFilter.TOO_SLOW_DETAIL,
                    List.of(new FieldProblem("body", BodySizeLimitFilter.TOO_SLOW_DETAIL)));
        }
        if (e.getCause() instanceof DatabindException binding && !binding.getPath().isEmpty()) {
            String field = pathOf(binding);
            String message = binding instanceof UnrecognizedPropertyException ? "is not a known field"
                    : "has the wrong JSON type or value";
            return problem(HttpStatus.BAD_REQUEST, "validation_failed", "The request has 1 invalid field(s); see errors.",
                    List.of(new FieldProblem(field, message)));
        }
        String reason = e.getCause() instanceof JacksonException json ? describe(json)
                : "The request body is missing or unreadable.";
        return problem(HttpStatus.BAD_REQUEST, "validation_failed", "The request body is not valid JSON: " + reason,
                List.of(new FieldProblem("body", reason)));
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException e,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<FieldProblem> errors = e.getBindingResult().getFieldErrors().stream()
                .map(error -> new FieldProblem(snakeCase(error.getField()), error.getDefaultMessage()))
                .toList();
        return problem(HttpStatus.BAD_REQUEST, "validation_failed",
                "The request has " + errors.size() + " invalid field(s); see errors.", errors);
    }

    /** Every other Spring MVC exception arrives here with its status and a safe detail already set. */
    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception e, Object body, HttpHeaders headers,
            HttpStatusCode status, WebRequest request) {
        String detail = detailOf(e, request);
        if (detail == null) {
            detail = body instanceof ProblemDetail given && given.getDetail() != null ? given.getDetail()
                    : HttpStatus.valueOf(status.value()).getReasonPhrase();
        }
        List<FieldProblem> errors = e instanceof HttpMediaTypeNotSupportedException
                ? List.of(new FieldProblem("Content-Type", detail)) : List.of();
        ResponseEntity.BodyBuilder answer = ResponseEntity.status(status).headers(headers);
        if (e instanceof HttpMediaTypeNotAcceptableException) {
            // the caller's Accept matched nothing (or did not parse): the problem is sent as what it is, regardless
            answer.contentType(MediaType.APPLICATION_PROBLEM_JSON);
        }
        return answer.body(Problems.of(status, codeFor(status), detail, errors));
    }

    /** Plainer words than Spring's for the mistakes callers make most. */
    private static String detailOf(Exception e, WebRequest request) {
        if (e instanceof NoResourceFoundException missing) {
            return "No route " + missing.getHttpMethod() + " /" + missing.getResourcePath() + ".";
        }
        if (e instanceof HttpRequestMethodNotSupportedException method) {
            return "Method " + method.getMethod() + " is not supported here; use "
                    + String.join(" or ", method.getSupportedMethods() == null ? new String[0] : method.getSupportedMethods()) + ".";
        }
        if (e instanceof HttpMediaTypeNotSupportedException media) {
            return "Content-Type '" + (media.getContentType() == null ? "" : media.getContentType())
                    + "' is not supported; send application/json.";
        }
        return null;
    }

    static String codeFor(HttpStatusCode status) {
        return switch (status.value()) {
            case 400 -> "validation_failed";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 406 -> "not_acceptable";
            case 408 -> "request_timeout";
            case 409 -> "conflict";
            case 413 -> "payload_too_large";
            case 415 -> "unsupported_media_type";
            case 429 -> "rate_limited";
            case 503 -> "unavailable";
            default -> status.is4xxClientError() ? "bad_request" : "internal_error";
        };
    }

    private static ResponseEntity<Object> problem(HttpStatus status, String code, String detail,
            List<FieldProblem> errors) {
        return ResponseEntity.status(status).body(Problems.of(status, code, detail, errors));
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> cause) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (cause.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** Bean Validation names Java properties; callers know the JSON names ({@code rateLimitPerMinute} → {@code rate_limit_per_minute}). */
    private static String snakeCase(String field) {
        return field.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase();
    }

    /** {@code scopes[1]}, {@code input.video.video_url}: the JSON path of the field Jackson could not bind. */
    private static String pathOf(DatabindException e) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference reference : e.getPath()) {
            if (reference.getPropertyName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(reference.getPropertyName());
            } else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String describe(JacksonException e) {
        TokenStreamLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 0 ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        return e.getOriginalMessage() + where;
    }
}
