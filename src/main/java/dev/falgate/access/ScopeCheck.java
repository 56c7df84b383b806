package dev.falgate.access;

import java.util.Arrays;
import java.util.stream.Collectors;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

import dev.falgate.web.ApiException;

/**
 * Enforces {@link RequiresScope} once the route is known and before its arguments (the body above all) are
 * read: a key without the scope gets 403 whatever its body holds. Runs only for callers {@link ApiKeyFilter}
 * authenticated.
 */
@Configuration(proxyBeanMethods = false)
class ScopeCheck implements HandlerInterceptor, WebMvcConfigurer {

    private static final Logger log = LoggerFactory.getLogger(ScopeCheck.class);
    private static final String FALGATE_PACKAGE = "dev.falgate";

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(this).order(0); // before RequestInputCheck: scope first, then input
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!(request.getAttribute(ApiKeyFilter.CALLER_ATTRIBUTE) instanceof Caller caller)
                || !(handler instanceof HandlerMethod method)
                // Spring's own handlers (OPTIONS answers) and the container's error dispatch are not routes of ours
                || !method.getBeanType().getPackageName().startsWith(FALGATE_PACKAGE)
                || request.getDispatcherType() == DispatcherType.ERROR) {
            return true;
        }
        RequiresScope required = method.getMethodAnnotation(RequiresScope.class);
        if (required == null) {
            log.error("Route {} declares no @RequiresScope; refused to every key", method.getShortLogMessage());
            throw forbidden("This route is not open to API keys.");
        }
        if (Arrays.stream(required.value()).noneMatch(caller::has)) {
            throw forbidden("This API key needs the scope " + Arrays.stream(required.value())
                    .map(scope -> "'" + scope.value() + "'").collect(Collectors.joining(" or ")) + ".");
        }
        return true;
    }

    private static ApiException forbidden(String detail) {
        return new ApiException(HttpStatus.FORBIDDEN, "forbidden", detail);
    }
}
