package dev.falgate;

/**
 * A setting the gateway cannot run without (the fal key, the admin key, a price) is absent or unusable.
 * Start-up stops with one message naming the environment variable(s); values are never shown.
 */
public class MissingSettingException extends RuntimeException {

    private final String variable;

    public MissingSettingException(String variable, String why) {
        super(variable + (variable.contains(" and ") ? " are" : " is") + " missing or invalid: " + why);
        this.variable = variable;
    }

    public String variable() {
        return variable;
    }
}
