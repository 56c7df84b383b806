package dev.falgate.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;

/**
 * No input yields a 500 (api.md, "Limits and hostile input"): a sweep of what hostile or careless callers send to
 * every route, with a key that may call it, so every input reaches validation. Each answer is a 4xx problem.
 */
class NoServerErrorTest extends IntegrationTest {

    private static final List<String> HOSTILE_VALUES = List.of("%00", "a%00b", "%01", "%7F", "%C3%28", "%ED%A0%80",
            "%F0%9F%98%80", "-1", "0", "99999999999999999999999999", "1e309", "NaN", "-0", "%20", "",
            "x".repeat(5000), "%25", "'%3B--", "%5B%5D", "9999-12-31T23:59:59.999999999Z", "+999999999-01-01T00:00:00Z",
            "2026-02-30", "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-11-23T10:15:30+25:00");

    @Test
    void everyQueryParameterOfEveryReadRouteAnswersWithoutA500() {
        String job = submitJob(UUID.randomUUID().toString());
        List<String> failures = new ArrayList<>();
        List<String> routes = List.of("/v1/jobs?status=%s", "/v1/jobs?client=%s", "/v1/jobs?created_from=%s",
                "/v1/jobs?created_to=%s", "/v1/jobs?limit=%s", "/v1/jobs?cursor=%s", "/v1/jobs?%s=1",
                "/v1/spend?from=%s", "/v1/spend?to=%s", "/v1/spend?client=%s", "/v1/spend?group_by=%s",
                "/v1/spend?%s", "/v1/jobs/" + job + "?x=%s", "/v1/keys?x=%s", "/v1/clients/acme/budget?x=%s");
        for (String route : routes) {
            for (String value : HOSTILE_VALUES) {
                String path = route.formatted(value);
                check(failures, "GET " + path, send(request(path).GET()));
                if (route.startsWith("/v1/jobs?")) {
                    check(failures, "GET (CSV) " + path, send(request(path).header("Accept", "text/csv").GET()));
                }
            }
        }
        check(failures, "500 parameters", send(request("/v1/jobs?" + "a=1&".repeat(500)).GET()));
        // a request line over Tomcat's 8 KiB header limit is refused by Tomcat itself, before any of our code
        check(failures, "a 12 KiB request line", send(request("/v1/jobs?" + "a=1&".repeat(3000)).GET()));
        for (String type : List.of("*/*", "application/*", "text/*", "application/*+json", "application/json;charset=bogus",
                "not a type", "application/json;charset=")) {
            check(failures, "Content-Type " + type, send(request("/v1/jobs").header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofString(validBody("content-type")))));
            check(failures, "Content-Type " + type + " on keys", send(request("/v1/keys").header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofString("{}"))));
        }
        for (String accept : List.of("text/csv;q=abc", "garbage", "*/x", "text/csv;charset=bogus", "image/png")) {
            check(failures, "Accept " + accept, send(request("/v1/jobs").header("Accept", accept).GET()));
        }
        check(failures, "GET /error", send(request("/error").GET()));
        check(failures, "POST /error", send(request("/error").POST(HttpRequest.BodyPublishers.ofString("{}"))));
        check(failures, "a parameter without a name", send(request("/v1/jobs?&&=1").GET()));
        assertThat(failures).isEmpty();
    }

    @Test
    void everyPathSegmentAnswersWithoutA500() {
        List<String> failures = new ArrayList<>();
        List<String> segments = List.of("%C3%A9", "x".repeat(3000), "%F0%9F%98%80", "00000000-0000-0000-0000-00000000000g",
                "ffffffff-ffff-ffff-ffff-ffffffffffff", "-", "%27", "%22", "%3C%3E", "%E2%80%8B");
        for (String segment : segments) {
            for (String path : List.of("/v1/jobs/" + segment, "/v1/jobs/" + segment + "/events",
                    "/v1/clients/" + segment + "/budget")) {
                check(failures, "GET " + path, send(request(path).GET()));
            }
            check(failures, "POST cancel " + segment, send(request("/v1/jobs/" + segment + "/cancel")
                    .POST(HttpRequest.BodyPublishers.noBody())));
            check(failures, "DELETE key " + segment, send(request("/v1/keys/" + segment).DELETE()));
            check(failures, "webhook " + segment, send(request("/fal/webhooks/" + segment)
                    .POST(HttpRequest.BodyPublishers.ofString("{}"))));
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void everyBodyRouteAnswersHostileBodiesWithoutA500() {
        List<String> failures = new ArrayList<>();
        List<String> bodies = List.of("", "null", "[]", "{}", "\"x\"", "1e999", "{\"a\":", "{\"a\":1,\"a\":2}",
                "{\"monthly_usd\": 1e999}", "{\"monthly_usd\": \"1e999\"}", "{\"monthly_usd\": \"-1\"}",
                "{\"monthly_usd\": \"NaN\"}", "{\"monthly_usd\": \"99999999999999999999999999999.999\"}",
                "{\"monthly_usd\": [1]}", "{\"monthly_usd\": \"0.001\"}", "{\"monthly_usd\": \"\\u0000\"}",
                "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [null]}",
                "{\"client\": \"a\", \"name\": \"\\ud800\", \"scopes\": [\"admin\"]}",
                "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [\"admin\"], \"rate_limit_per_minute\": 1e20}",
                "{\"client\": \"a\", \"name\": \"n\", \"scopes\": [\"admin\"], \"rate_limit_per_minute\": 99999999999}",
                "{\"client\": 1, \"name\": {}, \"scopes\": \"admin\"}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}, \"seed\": 1e30}}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}, \"seed\": -1}}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\", \"start_frame_num\": 1e400}}}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"http://[::1\"}}}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}, \"metadata\": {\"\\u0000\": 1}}",
                "{\"input\": {\"prompt\": \"p\", \"video\": {\"video_url\": \"https://e.com/a.mp4\"}}, \"metadata\": "
                        + "[" .repeat(5000) + "]".repeat(5000) + "}",
                "[".repeat(100_000));
        for (String body : bodies) {
            for (String[] route : new String[][] {{"POST", "/v1/jobs"}, {"POST", "/v1/keys"},
                    {"PUT", "/v1/clients/acme/budget"}}) {
                check(failures, route[0] + " " + route[1] + " " + abbreviated(body), send(request(route[1])
                        .header("Content-Type", "application/json")
                        .method(route[0], HttpRequest.BodyPublishers.ofString(body))));
            }
        }
        assertThat(failures).isEmpty();
    }

    private static void check(List<String> failures, String what, HttpResponse<String> response) {
        // the admin key may call every route: a 403 would mean a route refused it for the wrong reason
        if (response.statusCode() >= 500 || response.statusCode() < 200 || response.statusCode() == 403) {
            failures.add(what + " -> " + response.statusCode() + " " + abbreviated(response.body()));
        } else if (response.statusCode() >= 400 && !response.headers().firstValue("Content-Type").orElse("")
                .startsWith("application/problem+json")) {
            failures.add(what + " -> " + response.statusCode() + " without a problem body");
        }
    }

    private static String abbreviated(String text) {
        return text.length() > 120 ? text.substring(0, 120) + "..." : text;
    }
}
