package dev.falgate.job;

import java.math.BigDecimal;
import java.util.Map;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import dev.falgate.MissingSettingException;

/**
 * What one video costs, per fal endpoint, in US dollars. A job keeps the price in force when it was
 * accepted; changing the price later does not change what earlier jobs are charged.
 *
 * @param usdPerVideo price per endpoint id (application.yml sets {@code fal-ai/ltx-video-v097/extend: 0.12};
 *                    override with {@code --falgate.pricing.usd-per-video[fal-ai/ltx-video-v097/extend]=0.15})
 */
@ConfigurationProperties("falgate.pricing")
record PricingSettings(@DefaultValue Map<String, BigDecimal> usdPerVideo) {

    BigDecimal priceOf(String endpointId) {
        BigDecimal price = usdPerVideo.get(endpointId);
        if (price == null || price.signum() < 0) {
            throw new MissingSettingException("falgate.pricing.usd-per-video[" + endpointId + "]",
                    "no non-negative price is configured for the endpoint");
        }
        return price;
    }
}
