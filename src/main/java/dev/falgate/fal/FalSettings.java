package dev.falgate.fal;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How falgate reaches fal's queue API.
 *
 * @param key             fal's API key ({@code FAL_KEY}, no default), sent as {@code Authorization: Key ...}
 * @param queueUrl        base of the queue API ({@code FAL_QUEUE_URL}, default {@code https://queue.fal.run})
 * @param endpointId      the model endpoint every job runs on (default {@code fal-ai/ltx-video-v097/extend})
 * @param connectTimeout  how long to wait for a connection to fal (default 5s); a refused or timed-out
 *                        connect never sent anything, so a submit is safely retried
 * @param responseTimeout how long to wait for fal's answer once the request is sent (default 30s); a submit
 *                        that times out here may exist at fal and is never blindly re-sent
 * @param publicUrl       the gateway's own base URL as fal reaches it ({@code FALGATE_PUBLIC_URL}, default unset:
 *                        polling only); when set, every submit carries {@code fal_webhook=<publicUrl>/fal/webhooks/<job id>}
 * @param outputTtl       how long fal keeps output files ({@code FALGATE_FAL_OUTPUT_TTL}, default unset: the account's
 *                        retention); sent on every submit as {@code X-Fal-Object-Lifecycle-Preference}
 */
@ConfigurationProperties("falgate.fal")
record FalSettings(
        String key,
        @DefaultValue("https://queue.fal.run") URI queueUrl,
        @DefaultValue("fal-ai/ltx-video-v097/extend") String endpointId,
        @DefaultValue("5s") Duration connectTimeout,
        @DefaultValue("30s") Duration responseTimeout,
        URI publicUrl,
        @DefaultValue("https://api.fal.ai/v1") URI apiUrl,
        String userId,
        Duration outputTtl) {

    FalSettings {
        if (outputTtl != null && outputTtl.toSeconds() < 1) {
            throw new IllegalArgumentException("FALGATE_FAL_OUTPUT_TTL must be at least 1s (fal would delete the "
                    + "output before falgate could fetch it), not " + outputTtl);
        }
    }

    @Override
    public String toString() {
        return "FalSettings[key=<redacted>, queueUrl=" + queueUrl + ", endpointId=" + endpointId
                + ", connectTimeout=" + connectTimeout + ", responseTimeout=" + responseTimeout
                + ", publicUrl=" + publicUrl + ", apiUrl=" + apiUrl + ", userId=" + userId + ", outputTtl=" + outputTtl
                + "]";
    }
}
