package dev.falgate.job;

import static dev.falgate.job.ExtendRequestValidator.ASPECT_RATIOS;
import static dev.falgate.job.ExtendRequestValidator.DEFAULTS;
import static dev.falgate.job.ExtendRequestValidator.RESOLUTIONS;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.Assert;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.media.BooleanSchema;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;

/**
 * The schemas of the job's JSON, which the records can't show (the job keeps them as JSON columns): fal's input as
 * {@link ExtendRequestValidator} accepts it, built from the validator's own limits, values and defaults so the two
 * can't disagree; the submit body around it; fal's result as stored; and a failed job's error as
 * {@link JobWriter#error} writes it.
 */
@Configuration(proxyBeanMethods = false)
class JobApiDocs {

    static final String SUBMIT_REQUEST = "SubmitRequest";
    private static final String EXTEND_INPUT = "ExtendInput";
    private static final String VIDEO_INPUT = "VideoConditioningInput";
    private static final String FAL_FILE = "FalFile";

    @Bean
    OpenApiCustomizer jobSchemas() {
        return openApi -> {
            Components components = openApi.getComponents();
            components.addSchemas(VIDEO_INPUT, videoInput())
                    .addSchemas(EXTEND_INPUT, extendInput())
                    .addSchemas(SUBMIT_REQUEST, submitRequest())
                    .addSchemas(FAL_FILE, falFile());
            Map<String, Schema> job = components.getSchemas().get("JobResource").getProperties();
            job.put("input", ref(EXTEND_INPUT));
            job.put("metadata", metadata().description("The caller's metadata, as given; null when none"));
            // inline, not referenced: OpenAPI 3.0 has no nullable $ref that validators agree on
            job.put("result", jobResult().nullable(true));
            job.put("error", jobError().nullable(true));
        };
    }

    /** fal's input for fal-ai/ltx-video-v097/extend, field for field; unknown fields are refused. */
    private static Schema<?> extendInput() {
        Schema<?> input = new ObjectSchema()
                .description("fal's input for fal-ai/ltx-video-v097/extend. Unknown fields and wrong JSON types are "
                        + "refused, never coerced. In a job, the effective input: fal's defaults filled in.")
                .addProperty("prompt", new StringSchema().maxLength(ExtendRequestValidator.MAX_PROMPT_CHARACTERS)
                        .description("Text prompt to guide generation; not blank once whitespace and zero-width "
                                + "characters are gone")
                        .example("Woman walking on a street in Tokyo"))
                .addProperty("negative_prompt", new StringSchema().maxLength(ExtendRequestValidator.MAX_PROMPT_CHARACTERS)
                        ._default((String) DEFAULTS.get("negative_prompt")))
                .addProperty("resolution", new StringSchema()._enum(sorted(RESOLUTIONS))
                        ._default((String) DEFAULTS.get("resolution")))
                .addProperty("aspect_ratio", new StringSchema()._enum(sorted(ASPECT_RATIOS))
                        ._default((String) DEFAULTS.get("aspect_ratio")))
                .addProperty("seed", new IntegerSchema().format("int64").nullable(true)
                        .description("Random seed; absent or null lets fal choose one (fal reports it in the result)"))
                .addProperty("num_inference_steps", new IntegerSchema()
                        .minimum(BigDecimal.valueOf(ExtendRequestValidator.MIN_STEPS))
                        .maximum(BigDecimal.valueOf(ExtendRequestValidator.MAX_STEPS))
                        ._default((Integer) DEFAULTS.get("num_inference_steps")))
                .addProperty("expand_prompt", new BooleanSchema()._default((Boolean) DEFAULTS.get("expand_prompt")))
                .addProperty("video", ref(VIDEO_INPUT));
        input.setRequired(List.of("prompt", "video"));
        input.setAdditionalProperties(false);
        Assert.state(input.getProperties().keySet().equals(Set.copyOf(ExtendRequestValidator.INPUT_FIELDS)),
                "the documented input fields differ from those ExtendRequestValidator accepts");
        return input;
    }

    private static Schema<?> videoInput() {
        Schema<?> video = new ObjectSchema()
                .description("Video to be extended")
                .addProperty("video_url", new StringSchema().format("uri").maxLength(ExtendRequestValidator.MAX_URL_CHARACTERS)
                        .description("An absolute http or https URL (IDN and underscore hosts allowed)")
                        .example("https://example.com/in.mp4"))
                .addProperty("start_frame_num", new IntegerSchema().minimum(BigDecimal.ZERO).example(24));
        video.setRequired(List.of("video_url"));
        video.setAdditionalProperties(false);
        Assert.state(video.getProperties().keySet().equals(ExtendRequestValidator.VIDEO_FIELDS),
                "the documented video fields differ from those ExtendRequestValidator accepts");
        return video;
    }

    private static Schema<?> submitRequest() {
        Schema<?> body = new ObjectSchema()
                .addProperty("input", ref(EXTEND_INPUT))
                .addProperty("metadata", metadata().description("Any JSON object, at most "
                        + ExtendRequestValidator.MAX_METADATA_BYTES + " bytes serialized; stored and returned as given"))
                .addProperty("callback_url", new StringSchema().format("uri").nullable(true).maxLength(2048)
                        .description("Where the job's terminal event (job.completed, job.failed, job.cancelled) is "
                                + "POSTed, signed per Standard Webhooks with the client's callback secret: an absolute "
                                + "https URL whose host resolves to no loopback, private, link-local, multicast or "
                                + "metadata address (unless on FALGATE_CALLBACK_ALLOWED_HOSTS, which also allows http)")
                        .example("https://hooks.example.com/falgate"));
        body.setRequired(List.of("input"));
        body.setAdditionalProperties(false);
        Assert.state(body.getProperties().keySet().equals(ExtendRequestValidator.BODY_FIELDS),
                "the documented submit fields differ from those ExtendRequestValidator accepts");
        return body;
    }

    private static Schema<Object> metadata() {
        // a plain Schema: ObjectSchema would turn the example map into its toString()
        Schema<Object> metadata = new Schema<>().type("object").nullable(true).example(Map.of("order_id", "A-1001"));
        metadata.setAdditionalProperties(true);
        return metadata;
    }

    /** fal's output, stored as fal sent it: every field it returned is kept. */
    private static Schema<?> jobResult() {
        Schema<?> result = new ObjectSchema()
                .description("fal's output, every field kept as fal returned it; set once the job completed")
                .addProperty("video", ref(FAL_FILE))
                .addProperty("seed", new IntegerSchema().format("int64").description("The seed used for generation"));
        result.setRequired(List.of("video"));
        result.setAdditionalProperties(true);
        return result;
    }

    /** falgate's own copy of the video (absent while the archive is off): added by falgate, not fal. */
    private static Schema<?> archiveView() {
        return new ObjectSchema()
                .description("falgate's own copy of the video, which outlives fal's CDN file: pending while it is "
                        + "copied, stored (then use url, never fal's), or failed with the reason")
                .addProperty("status", new StringSchema()._enum(List.of("pending", "stored", "failed")))
                .addProperty("url", new StringSchema().example("/v1/jobs/0b0c0d0e-0000-4000-8000-000000000000/video"))
                .addProperty("signed_url", new StringSchema().description("The same video without an API key, for "
                        + "<video src>, until its expires (at most FALGATE_VIDEO_URL_TTL)")
                        .example("/v1/jobs/0b0c0d0e-0000-4000-8000-000000000000/video?expires=1764000000&sig=..."))
                .addProperty("sha256", new StringSchema().pattern("^[0-9a-f]{64}$"))
                .addProperty("bytes", new IntegerSchema().format("int64"))
                .addProperty("content_type", new StringSchema().example("video/mp4"))
                .addProperty("stored_at", new StringSchema().format("date-time"))
                .addProperty("reason", new StringSchema())
                .required(List.of("status"));
    }

    private static Schema<?> falFile() {
        Schema<?> file = new ObjectSchema()
                .description("fal's File: the generated video on fal's CDN, every field fal returned")
                .addProperty("url", new StringSchema().example("https://v3.fal.media/files/example/out.mp4"))
                .addProperty("content_type", new StringSchema().nullable(true).example("video/mp4"))
                .addProperty("file_name", new StringSchema().nullable(true).example("out.mp4"))
                .addProperty("file_size", new IntegerSchema().format("int64").nullable(true).example(1234567))
                .addProperty("archive", archiveView());
        file.setRequired(List.of("url"));
        file.setAdditionalProperties(true);
        return file;
    }

    /** A failed job's error, as {@link JobWriter#error} writes it. */
    private static Schema<?> jobError() {
        Schema<?> error = new ObjectSchema()
                .description("Why the job failed, fal's own answer kept where there was one; set once the job failed")
                .addProperty("code", new StringSchema().example("fal_failed")
                        .description("fal_failed, fal_unavailable, fal_request_lost, deadline_exceeded, result_unstorable, "
                                + "or fal's error type"))
                .addProperty("message", new StringSchema())
                .addProperty("retryable", new BooleanSchema())
                .addProperty("fal_status", new IntegerSchema().nullable(true).description("fal's HTTP status, if any"))
                .addProperty("fal_detail", new Schema<>().nullable(true).description("fal's error body, as fal sent it"))
                .addProperty("fal_error_type", new StringSchema().nullable(true));
        error.setRequired(List.of("code", "message", "retryable", "fal_status", "fal_detail", "fal_error_type"));
        return error;
    }

    private static List<String> sorted(Set<String> values) {
        return values.stream().sorted().toList();
    }

    private static Schema<?> ref(String component) {
        return new Schema<>().$ref("#/components/schemas/" + component);
    }
}
