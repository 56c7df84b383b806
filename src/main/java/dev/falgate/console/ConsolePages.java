package dev.falgate.console;

import java.io.IOException;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.Resource;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The ops console (api.md, "Ops console"): static pages and plain ES modules from the jar ({@code static/console}),
 * third-party code only as WebJars, calling the same {@code /v1} API as everyone with the key the person signs in
 * with (kept in the tab's session storage). Its pages are served with a strict Content-Security-Policy: no inline
 * script or style, no other origin, {@code connect-src 'self'}.
 */
@Hidden
@RestController
class ConsolePages {

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "media-src 'self'; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
            + "frame-ancestors 'none'";

    private final Resource index = new ClassPathResource("static/console/index.html");

    @GetMapping(path = {"/console", "/console/"}, produces = MediaType.TEXT_HTML_VALUE)
    ResponseEntity<Resource> index() {
        return ResponseEntity.ok().cacheControl(CacheControl.noCache()).contentType(MediaType.TEXT_HTML).body(index);
    }

    /** The console's headers on its pages and assets. */
    @Component
    @Order(Ordered.HIGHEST_PRECEDENCE + 1)
    static class Headers extends OncePerRequestFilter {

        @Override
        protected boolean shouldNotFilter(HttpServletRequest request) {
            String uri = request.getRequestURI();
            return !uri.startsWith("/console") && !uri.startsWith("/webjars/");
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            response.setHeader("Content-Security-Policy", CSP);
            response.setHeader("X-Content-Type-Options", "nosniff");
            response.setHeader("Referrer-Policy", "no-referrer");
            response.setHeader("X-Frame-Options", "DENY");
            if (request.getRequestURI().startsWith("/console")) {
                // checked again on every load: after an upgrade the page and its modules change together
                response.setHeader("Cache-Control", "no-cache");
            }
            chain.doFilter(request, response);
        }
    }
}
