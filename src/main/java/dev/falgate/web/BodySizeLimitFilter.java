package dev.falgate.web;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Caps every request body, on every route, at 64 KiB: a declared larger length is refused when the body is first
 * asked for, without reading it, and a chunked body is cut off as it streams past the limit (the advice turns both
 * into 413). The cap is applied lazily so that what comes first decides: no key 401 (ApiKeyFilter), no scope 403
 * (ScopeCheck), and only then anything about the body. A body must also arrive whole within
 * {@link #BODY_DEADLINE} (408 otherwise).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 20)
class BodySizeLimitFilter extends OncePerRequestFilter {

    static final int MAX_BODY_BYTES = 64 * 1024;
    static final String TOO_LARGE_DETAIL = "The request body exceeds the limit of 65536 bytes.";
    static final String TOO_SLOW_DETAIL = "The request body took longer than 10 seconds to arrive.";
    /**
     * A whole body must arrive within this, however it trickles: Tomcat's connection timeout bounds each read, not
     * the sum, so one byte every few seconds would otherwise hold a request thread for hours.
     */
    static final Duration BODY_DEADLINE = Duration.ofSeconds(10);

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        chain.doFilter(new LimitedRequest(request), response);
    }

    private static final class LimitedRequest extends HttpServletRequestWrapper {

        private ServletInputStream limited;

        LimitedRequest(HttpServletRequest request) {
            super(request);
        }

        /** The declared length is judged when the body is first asked for: after the route's scope check. */
        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (getContentLengthLong() > MAX_BODY_BYTES) {
                throw new BodyTooLarge(TOO_LARGE_DETAIL);
            }
            if (limited == null) {
                limited = new LimitedInputStream(super.getInputStream());
            }
            return limited;
        }

        @Override
        public BufferedReader getReader() throws IOException {
            String charset = getCharacterEncoding();
            return new BufferedReader(new InputStreamReader(getInputStream(),
                    charset == null ? StandardCharsets.UTF_8 : Charset.forName(charset)));
        }
    }

    private static final class LimitedInputStream extends ServletInputStream {

        private final ServletInputStream in;
        private final long deadline = System.nanoTime() + BODY_DEADLINE.toNanos();
        private long read;

        LimitedInputStream(ServletInputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            checkDeadline();
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            checkDeadline();
            int n = in.read(buffer, offset, length);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws IOException {
            read += n;
            if (read > MAX_BODY_BYTES) {
                throw new BodyTooLarge(TOO_LARGE_DETAIL);
            }
            checkDeadline();
        }

        private void checkDeadline() throws BodyTooSlow {
            if (System.nanoTime() - deadline > 0 && !in.isFinished()) {
                throw new BodyTooSlow(TOO_SLOW_DETAIL);
            }
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
