package dev.falgate.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;

import org.junit.jupiter.api.Test;

import dev.falgate.IntegrationTest;
import tools.jackson.databind.JsonNode;

/** A key's client and name are checked like any input: a clear 400 naming the field, never a 500. */
class KeyInputTest extends IntegrationTest {

    @Test
    void theBootstrapKeysClientCannotBeGivenToAnotherKey() {
        HttpResponse<String> response = post("/v1/keys",
                "{\"client\": \"admin\", \"name\": \"sneaky\", \"scopes\": [\"jobs:read\"]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(fields(body(response))).containsExactly("client");
    }

    @Test
    void aKeyNameWithLineBreaksOrNulIsRefusedNamingTheField() {
        for (String name : new String[] {"line\\r\\nbreak", "nul\\u0000name", "lone\\ud800"}) {
            HttpResponse<String> response = post("/v1/keys",
                    "{\"client\": \"names-test\", \"name\": \"" + name + "\", \"scopes\": [\"jobs:read\"]}");

            assertThat(response.statusCode()).as(name).isEqualTo(400);
            assertThat(fields(body(response))).as(name).containsExactly("name");
        }
    }

    private static java.util.List<String> fields(JsonNode problem) {
        return problem.path("errors").valueStream().map(error -> error.path("field").asString()).toList();
    }
}
