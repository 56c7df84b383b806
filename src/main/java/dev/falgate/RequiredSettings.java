package dev.falgate;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.event.ApplicationEnvironmentPreparedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.env.Environment;

/**
 * Checks, before anything starts, the settings the gateway cannot run without, and stops start-up with
 * one message naming every one that is missing. Values are never shown. The local profile
 * ({@code ./mvnw spring-boot:run}) fills in stand-ins before this runs; the jar and the image never do.
 */
class RequiredSettings implements ApplicationListener<ApplicationEnvironmentPreparedEvent> {

    static final int MIN_ADMIN_KEY_LENGTH = 32;

    @Override
    public void onApplicationEvent(ApplicationEnvironmentPreparedEvent event) {
        Environment environment = event.getEnvironment();
        List<String> missing = new ArrayList<>();
        if (blank(environment.getProperty("falgate.fal.key"))) {
            missing.add("FAL_KEY (the fal API key)");
        }
        String adminKey = environment.getProperty("falgate.access.admin-key");
        if (blank(adminKey) || adminKey.strip().length() < MIN_ADMIN_KEY_LENGTH) {
            missing.add("FALGATE_ADMIN_KEY (the bootstrap admin key, at least " + MIN_ADMIN_KEY_LENGTH + " characters)");
        }
        String archive = environment.getProperty("falgate.archive.mode", "");
        if (!archive.strip().equalsIgnoreCase("off") && !archive.strip().equalsIgnoreCase("s3")
                && blank(environment.getProperty("falgate.archive.s3-bucket"))
                && blank(environment.getProperty("falgate.archive.dir"))) {
            missing.add("FALGATE_ARCHIVE_DIR (where completed videos are copied; or FALGATE_ARCHIVE_S3_BUCKET for a "
                    + "bucket, or FALGATE_ARCHIVE=off)");
        }
        if (!missing.isEmpty()) {
            throw new MissingSettingException(String.join(" and ", missing.stream().map(m -> m.split(" ")[0]).toList()),
                    "set " + String.join("; set ", missing));
        }
    }

    private static boolean blank(String value) {
        return value == null || value.isBlank();
    }
}
