package dev.falgate.job;

import org.springframework.stereotype.Component;

import dev.falgate.fal.FalClient;
import dev.falgate.sandbox.Sandbox;

/** Which fal a job's requests go to: fal itself, or for a sandbox key's job the sandbox's simulator, never fal. */
@Component
class FalClients {

    private final FalClient fal;
    private final Sandbox sandbox;

    FalClients(FalClient fal, Sandbox sandbox) {
        this.fal = fal;
        this.sandbox = sandbox;
    }

    FalClient of(Job job) {
        return job.isSandbox() ? sandbox.client() : fal;
    }
}
