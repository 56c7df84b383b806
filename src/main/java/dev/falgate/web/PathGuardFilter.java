package dev.falgate.web;

import java.io.IOException;
import java.util.Optional;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * First of falgate's filters: refuses (400) every path that could be read two ways, {@code /v1;x=1/jobs},
 * {@code /v1//jobs}, {@code /v1/./jobs}, {@code /v1%2Fjobs}, before any other filter looks at it. What is left
 * differs from the route Spring matches only by percent-decoding, which {@link RoutedPath} applies, so the key
 * check and the body limit can't be skipped by spelling a path differently.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 5)
class PathGuardFilter extends OncePerRequestFilter {

    private final Problems problems;

    PathGuardFilter(Problems problems) {
        this.problems = problems;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String raw = request.getRequestURI().substring(request.getContextPath().length());
        Optional<String> ambiguity = RoutedPath.ambiguity(raw);
        if (ambiguity.isPresent()) {
            String detail = "The request path " + ambiguity.get() + "; spell it plainly.";
            problems.write(response, HttpStatus.BAD_REQUEST, "validation_failed", detail,
                    new FieldProblem("path", ambiguity.get()));
            return;
        }
        chain.doFilter(request, response);
    }
}
