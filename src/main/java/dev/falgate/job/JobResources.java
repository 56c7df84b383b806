package dev.falgate.job;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.springframework.stereotype.Component;

import dev.falgate.access.SignedUrls;
import dev.falgate.archive.Archive;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Job resources as callers see them: the row, plus what the archive holds of a completed job's video, shown as
 * {@code result.video.archive} next to fal's own file (api.md, "Job resource: new fields"). One archive query per
 * answer, however many jobs it shows.
 */
@Component
class JobResources {

    private final Archive archive;
    private final SignedUrls signedUrls;
    private final JsonMapper json;

    JobResources(Archive archive, SignedUrls signedUrls, JsonMapper json) {
        this.archive = archive;
        this.signedUrls = signedUrls;
        this.json = json;
    }

    JobResource of(Job job) {
        return withArchive(List.of(JobResource.of(job))).get(0);
    }

    /** The resources with each completed job's archive view in its result. */
    List<JobResource> withArchive(List<JobResource> resources) {
        List<UUID> completed = resources.stream().filter(r -> r.status() == JobStatus.COMPLETED && r.result() != null)
                .map(JobResource::id).toList();
        if (completed.isEmpty()) {
            return resources;
        }
        Map<UUID, Archive.View> views = archive.viewsOf(completed);
        return resources.stream().map(r -> views.containsKey(r.id()) ? withView(r, views.get(r.id())) : r).toList();
    }

    private JobResource withView(JobResource resource, Archive.View view) {
        JsonNode result = json.readTree(resource.result());
        if (!(result.path("video") instanceof ObjectNode video)) {
            return resource; // fal's result without a video object: nothing to attach the archive to
        }
        ObjectNode archived = json.createObjectNode().put("status", view.status());
        if (view.url() != null) {
            archived.put("url", view.url()).put("signed_url", signedUrls.sign(view.url()))
                    .put("sha256", view.sha256()).put("bytes", view.bytes())
                    .put("content_type", view.contentType()).put("stored_at", view.storedAt().toString());
        }
        if (view.reason() != null) {
            archived.put("reason", view.reason());
        }
        video.set("archive", archived);
        return resource.withResult(json.writeValueAsString(result));
    }
}
