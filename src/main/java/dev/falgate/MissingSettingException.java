package dev.falgate;

/**
 * A setting the gateway cannot run without (the fal key, the admin key) is absent or unusable.
 * Start-up stops with one message naming the environment variable; the value itself is never shown.
 */
public class MissingSettingException extends RuntimeException {

    private final String variable;

    public MissingSettingException(String variable, String why) {
        super(variable + " is missing or invalid: " + why);
        this.variable = variable;
    }

    public String variable() {
        return variable;
    }
}
