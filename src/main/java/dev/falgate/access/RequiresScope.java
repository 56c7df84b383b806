package dev.falgate.access;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares, next to a {@code /v1} route, the scopes whose holders may call it (any one of them; {@code admin}
 * holds all). {@link ScopeCheck} enforces it before the request body is read, and a {@code /v1} route without
 * it is refused to everyone. Which of the route's data a caller then sees (own client or every client) is the
 * handler's business.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface RequiresScope {

    Scope[] value();
}
