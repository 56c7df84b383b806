package dev.falgate.web;

import java.io.IOException;
import java.net.URI;
import java.util.List;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;

import tools.jackson.databind.json.JsonMapper;

/**
 * Builds every RFC 9457 problem falgate answers with, so the advice, the error controller and the
 * servlet filters (which run before Spring MVC) all produce the same shape.
 */
@Component
public class Problems {

    static final String TYPE_BASE = "https://falgate.dev/problems/";

    private final JsonMapper json;

    Problems(JsonMapper json) {
        this.json = json;
    }

    public static ProblemDetail of(HttpStatusCode status, String code, String detail, List<FieldProblem> errors) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(URI.create(TYPE_BASE + code));
        problem.setTitle(titleOf(code));
        problem.setInstance(null);
        problem.setProperty("code", code);
        problem.setProperty("errors", errors);
        return problem;
    }

    /** Writes a problem straight to the servlet response, for code that runs outside Spring MVC. */
    public void write(HttpServletResponse response, HttpStatusCode status, String code, String detail,
            FieldProblem... errors) throws IOException {
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setCharacterEncoding("UTF-8");
        json.writeValue(response.getOutputStream(), of(status, code, detail, List.of(errors)));
    }

    private static String titleOf(String code) {
        String words = code.replace('_', ' ');
        return Character.toUpperCase(words.charAt(0)) + words.substring(1);
    }
}
