package dev.falgate.access;

import java.lang.reflect.ParameterizedType;
import java.util.List;
import java.util.Optional;

import org.springdoc.core.utils.SpringDocUtils;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.support.WebDataBinderFactory;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.method.support.HandlerMethodArgumentResolver;
import org.springframework.web.method.support.ModelAndViewContainer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

import dev.falgate.web.ApiException;

/** Lets a controller method declare a {@link Caller} parameter: the one {@link ApiKeyFilter} authenticated. */
@Configuration(proxyBeanMethods = false)
class CallerArgumentResolver implements HandlerMethodArgumentResolver, WebMvcConfigurer {

    static {
        // The caller comes from the Authorization header, not from the query string: keep it out of the OpenAPI.
        SpringDocUtils.getConfig().addRequestWrapperToIgnore(Caller.class);
    }

    @Override
    public void addArgumentResolvers(List<HandlerMethodArgumentResolver> resolvers) {
        resolvers.add(this);
    }

    @Override
    public boolean supportsParameter(MethodParameter parameter) {
        return parameter.getParameterType() == Caller.class || optionalCaller(parameter);
    }

    /** {@code Optional<Caller>}: a route that also serves signed URLs, which come without a key. */
    private static boolean optionalCaller(MethodParameter parameter) {
        return parameter.getParameterType() == Optional.class
                && parameter.getGenericParameterType() instanceof ParameterizedType type
                && type.getActualTypeArguments()[0] == Caller.class;
    }

    @Override
    public Object resolveArgument(MethodParameter parameter, ModelAndViewContainer mav, NativeWebRequest request,
            WebDataBinderFactory binderFactory) {
        Object caller = request.getAttribute(ApiKeyFilter.CALLER_ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
        if (optionalCaller(parameter)) {
            return Optional.ofNullable(caller);
        }
        if (caller == null) {
            // a route outside /v1 asked for a caller: no key was checked, so none is trusted
            throw new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", "A valid API key is required.");
        }
        return (Caller) caller;
    }
}
