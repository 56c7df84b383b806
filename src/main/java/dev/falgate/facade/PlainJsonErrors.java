package dev.falgate.facade;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * fal's clients parse only {@code application/json}: on the routes that speak fal's protocol, falgate's problems
 * (401, 402, 403, 429, …, written by the filters or the advice) keep their body, whose {@code detail} fal's clients
 * show, but are labelled {@code application/json}. Runs first, so it covers every writer.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class PlainJsonErrors extends OncePerRequestFilter {

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String uri = request.getRequestURI();
        return !uri.startsWith("/fal-ai/") && !uri.startsWith("/fal/proxy");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        chain.doFilter(request, new HttpServletResponseWrapper(response) {
            @Override
            public void setContentType(String type) {
                super.setContentType(plain(type));
            }

            @Override
            public void setHeader(String name, String value) {
                super.setHeader(name, HttpHeaders.CONTENT_TYPE.equalsIgnoreCase(name) ? plain(value) : value);
            }

            @Override
            public void addHeader(String name, String value) {
                super.addHeader(name, HttpHeaders.CONTENT_TYPE.equalsIgnoreCase(name) ? plain(value) : value);
            }
        });
    }

    private static String plain(String type) {
        return type != null && type.startsWith(MediaType.APPLICATION_PROBLEM_JSON_VALUE)
                ? MediaType.APPLICATION_JSON_VALUE + type.substring(MediaType.APPLICATION_PROBLEM_JSON_VALUE.length())
                : type;
    }
}
