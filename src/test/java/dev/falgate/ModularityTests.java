package dev.falgate;

import org.junit.jupiter.api.Test;
import org.springframework.modulith.core.ApplicationModules;

/** Feature packages depend one way (job → fal, access, web) and only on each other's public faces. */
class ModularityTests {

    @Test
    void featurePackagesRespectTheirBoundaries() {
        ApplicationModules.of(FalgateApplication.class).verify();
    }
}
