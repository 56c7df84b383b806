package dev.falgate.job;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.springframework.stereotype.Component;

import dev.falgate.callback.Callbacks;
import dev.falgate.web.ApiException;
import dev.falgate.web.FieldProblem;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Checks a submit body against fal's input schema for {@code fal-ai/ltx-video-v097/extend} without
 * coercing anything, collects every offending field at once, and builds the effective input: the
 * caller's fields plus fal's documented defaults, in fal's field order. That input is what is stored,
 * returned and sent to fal, so a typo is a 400 here instead of a silent $0.12 render with defaults.
 */
@Component
class ExtendRequestValidator {

    static final int MAX_METADATA_BYTES = 4 * 1024;
    static final int MIN_STEPS = 2;
    static final int MAX_STEPS = 50;

    /** fal's documented defaults (fal-ltx-video-v097-extend.md, Input Schema). */
    static final Map<String, Object> DEFAULTS = Map.of(
            "negative_prompt", "worst quality, inconsistent motion, blurry, jittery, distorted",
            "resolution", "720p",
            "aspect_ratio", "16:9",
            "num_inference_steps", 40,
            "expand_prompt", true);

    static final Set<String> BODY_FIELDS = Set.of("input", "metadata", "callback_url");
    static final List<String> INPUT_FIELDS = List.of("prompt", "negative_prompt", "resolution",
            "aspect_ratio", "seed", "num_inference_steps", "expand_prompt", "video");
    static final Set<String> VIDEO_FIELDS = Set.of("video_url", "start_frame_num");
    static final int MAX_PROMPT_CHARACTERS = 4000;
    static final int MAX_URL_CHARACTERS = 2048;
    private static final String UNSTORABLE = "must not contain the NUL character (\\u0000) or a lone UTF-16 surrogate";
    /** Unicode whitespace and the zero-width characters a prompt made only of would still look blank. */
    private static final Pattern ZERO_WIDTH_OR_SPACE =
            Pattern.compile("[\\p{javaWhitespace}\\p{Z}\\u200B\\u200C\\u200D\\u2060\\uFEFF\\u180E]+");
    /** A host name as written in a URL, IDN letters and underscores included. */
    private static final Pattern HOST_NAME =
            Pattern.compile("[\\p{L}\\p{N}_-]+(\\.[\\p{L}\\p{N}_-]+)*\\.?");
    static final Set<String> RESOLUTIONS = Set.of("480p", "720p");
    static final Set<String> ASPECT_RATIOS = Set.of("9:16", "16:9");

    private final JsonMapper json;
    private final Callbacks callbacks;

    ExtendRequestValidator(JsonMapper json, Callbacks callbacks) {
        this.json = json;
        this.callbacks = callbacks;
    }

    /** A valid request: the effective input for fal, the caller's metadata and callback URL (null when none). */
    record ValidRequest(ObjectNode input, JsonNode metadata, String callbackUrl) {
    }

    ValidRequest validate(JsonNode body) {
        List<FieldProblem> errors = new ArrayList<>();
        if (body == null || !body.isObject()) {
            throw ApiException.validationFailed(List.of(new FieldProblem("body", "must be a JSON object")));
        }
        rejectUnknown(body, BODY_FIELDS, "", errors);
        rejectUnstorableText(body, "", errors);
        boolean storable = errors.stream().noneMatch(error -> error.message().contains(UNSTORABLE));

        ObjectNode effective = json.createObjectNode();
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            errors.add(new FieldProblem("input", "is required"));
        } else if (!input.isObject()) {
            errors.add(new FieldProblem("input", "must be an object"));
        } else {
            effective = effectiveInput(input, errors);
        }

        JsonNode metadata = body.get("metadata");
        if (metadata != null && metadata.isNull()) {
            metadata = null;
        } else if (metadata != null && !metadata.isObject()) {
            errors.add(new FieldProblem("metadata", "must be a JSON object"));
        } else if (metadata != null && storable
                && json.writeValueAsString(metadata).getBytes(StandardCharsets.UTF_8).length > MAX_METADATA_BYTES) {
            errors.add(new FieldProblem("metadata", "must be at most " + MAX_METADATA_BYTES + " bytes as JSON"));
        }

        String callbackUrl = null;
        JsonNode callback = body.get("callback_url");
        if (callback != null && !callback.isNull()) {
            if (!callback.isString()) {
                errors.add(new FieldProblem("callback_url", "must be a string"));
            } else if (storable) {
                callbackUrl = callback.asString();
                callbacks.problemWith(callbackUrl)
                        .ifPresent(problem -> errors.add(new FieldProblem("callback_url", problem)));
            }
        }

        if (!errors.isEmpty()) {
            throw ApiException.validationFailed(errors);
        }
        return new ValidRequest(effective, metadata, callbackUrl);
    }

    private ObjectNode effectiveInput(JsonNode input, List<FieldProblem> errors) {
        rejectUnknown(input, Set.copyOf(INPUT_FIELDS), "input.", errors);
        ObjectNode effective = json.createObjectNode();
        for (String field : INPUT_FIELDS) {
            JsonNode value = input.get(field);
            String path = "input." + field;
            if (value == null && DEFAULTS.containsKey(field)) {
                effective.set(field, json.valueToTree(DEFAULTS.get(field)));
                continue;
            }
            switch (field) {
                case "prompt" -> {
                    if (value == null || value.isNull()) {
                        errors.add(new FieldProblem(path, "is required"));
                    } else if (!value.isString()) {
                        errors.add(new FieldProblem(path, "must be a string"));
                    } else {
                        promptText(value.asString(), path, errors);
                    }
                }
                case "negative_prompt" -> {
                    if (!value.isString()) {
                        errors.add(new FieldProblem(path, "must be a string"));
                    } else if (value.asString().codePointCount(0, value.asString().length()) > MAX_PROMPT_CHARACTERS) {
                        errors.add(new FieldProblem(path, "must be at most " + MAX_PROMPT_CHARACTERS + " characters"));
                    }
                }
                case "resolution" -> oneOf(value, RESOLUTIONS, path, errors);
                case "aspect_ratio" -> oneOf(value, ASPECT_RATIOS, path, errors);
                case "seed" -> {
                    // fal's seed is optional and nullable: absent or null lets fal choose (and report) one.
                    if (value == null || value.isNull()) {
                        continue;
                    }
                    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
                        errors.add(new FieldProblem(path, "must be an integer"));
                    }
                }
                case "num_inference_steps" -> {
                    if (!value.isIntegralNumber()) {
                        errors.add(new FieldProblem(path, "must be an integer"));
                    } else if (!value.canConvertToInt() || value.asInt() < MIN_STEPS || value.asInt() > MAX_STEPS) {
                        errors.add(new FieldProblem(path, "must be between " + MIN_STEPS + " and " + MAX_STEPS));
                    }
                }
                case "expand_prompt" -> {
                    if (!value.isBoolean()) {
                        errors.add(new FieldProblem(path, "must be a boolean"));
                    }
                }
                case "video" -> video(value, errors);
                default -> throw new IllegalStateException("unhandled input field " + field);
            }
            if (value != null) {
                effective.set(field, value);
            }
        }
        return effective;
    }

    private void video(JsonNode video, List<FieldProblem> errors) {
        if (video == null || video.isNull()) {
            errors.add(new FieldProblem("input.video", "is required"));
            return;
        }
        if (!video.isObject()) {
            errors.add(new FieldProblem("input.video", "must be an object"));
            return;
        }
        rejectUnknown(video, VIDEO_FIELDS, "input.video.", errors);
        JsonNode url = video.get("video_url");
        if (url == null || url.isNull()) {
            errors.add(new FieldProblem("input.video.video_url", "is required"));
        } else if (!url.isString() || !isHttpUrl(url.asString())) {
            errors.add(new FieldProblem("input.video.video_url", "must be an absolute http or https URL"));
        } else if (url.asString().length() > MAX_URL_CHARACTERS) {
            errors.add(new FieldProblem("input.video.video_url", "must be at most " + MAX_URL_CHARACTERS + " characters"));
        }
        JsonNode start = video.get("start_frame_num");
        if (start != null && (!start.isIntegralNumber() || !start.canConvertToInt() || start.asInt() < 0)) {
            errors.add(new FieldProblem("input.video.start_frame_num", "must be a non-negative integer"));
        }
    }

    private static void oneOf(JsonNode value, Set<String> allowed, String path, List<FieldProblem> errors) {
        if (!value.isString() || !allowed.contains(value.asString())) {
            errors.add(new FieldProblem(path, "must be one of " + String.join(", ", allowed.stream().sorted().toList())));
        }
    }

    private static void rejectUnknown(JsonNode object, Set<String> known, String prefix, List<FieldProblem> errors) {
        for (Iterator<String> names = object.propertyNames().iterator(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                errors.add(new FieldProblem(prefix + name, "is not a known field"));
            }
        }
    }

    /**
     * An absolute http(s) URL with a host. {@link URI#getHost()} knows only ASCII hostnames without {@code _}; an
     * IDN host ({@code bücher.example}) or one with an underscore is read from the authority instead.
     */
    private static boolean isHttpUrl(String text) {
        try {
            URI uri = new URI(text);
            boolean web = "http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme());
            return uri.isAbsolute() && web && hostOf(uri) != null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    private static String hostOf(URI uri) {
        if (uri.getHost() != null && !uri.getHost().isBlank()) {
            return uri.getHost();
        }
        String authority = uri.getAuthority();
        if (authority == null) {
            return null;
        }
        String host = authority.substring(authority.lastIndexOf('@') + 1).replaceFirst(":\\d*$", "");
        return HOST_NAME.matcher(host).matches() ? host : null;
    }

    /** Not blank once Unicode whitespace and zero-width characters are gone, and at most 4,000 characters. */
    private static void promptText(String text, String path, List<FieldProblem> errors) {
        if (ZERO_WIDTH_OR_SPACE.matcher(text).replaceAll("").isEmpty()) {
            errors.add(new FieldProblem(path, "must not be blank"));
        } else if (text.codePointCount(0, text.length()) > MAX_PROMPT_CHARACTERS) {
            errors.add(new FieldProblem(path, "must be at most " + MAX_PROMPT_CHARACTERS + " characters"));
        }
    }

    /**
     * PostgreSQL stores no NUL character and Java strings may carry a lone surrogate that no encoding can write:
     * either, anywhere in the body (names included), is refused here, naming where, instead of failing later.
     */
    private static void rejectUnstorableText(JsonNode node, String path, List<FieldProblem> errors) {
        if (node.isString() && !storable(node.asString())) {
            errors.add(new FieldProblem(path.isEmpty() ? "body" : path, UNSTORABLE));
        } else if (node.isObject()) {
            for (Iterator<String> names = node.propertyNames().iterator(); names.hasNext(); ) {
                String name = names.next();
                String child = path.isEmpty() ? name : path + "." + name;
                if (!storable(name)) {
                    errors.add(new FieldProblem(path.isEmpty() ? "body" : path, "has a field name that " + UNSTORABLE));
                } else {
                    rejectUnstorableText(node.get(name), child, errors);
                }
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                rejectUnstorableText(node.get(i), path + "[" + i + "]", errors);
            }
        }
    }

    private static boolean storable(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u0000') {
                return false;
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1))) {
                    return false;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
