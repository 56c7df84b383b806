package dev.falgate.callback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Where callbacks may go: every spelling of an inside address is refused, public ones and allow-listed hosts are not,
 * and a delivery connects to the very address it checked.
 */
class CallbackTargetsTest {

    private final CallbackTargets targets = new CallbackTargets(settings(List.of("http://127.0.0.1:8099",
            "hooks.internal.test")));

    @Test
    void insideAddressesAreNamedByKind() throws Exception {
        Map<String, String> kinds = Map.ofEntries(
                Map.entry("127.0.0.1", "loopback"), Map.entry("127.8.9.10", "loopback"), Map.entry("::1", "loopback"),
                Map.entry("::ffff:127.0.0.1", "loopback"), Map.entry("0.0.0.0", "unspecified"), Map.entry("::", "unspecified"),
                Map.entry("0.1.2.3", "unspecified"), Map.entry("10.0.0.1", "private"), Map.entry("172.16.5.4", "private"),
                Map.entry("172.31.255.255", "private"), Map.entry("192.168.1.1", "private"), Map.entry("100.64.0.1", "private"),
                Map.entry("fc00::1", "private"), Map.entry("fd12:3456::1", "private"), Map.entry("169.254.1.1", "link-local"),
                Map.entry("fe80::1", "link-local"), Map.entry("169.254.169.254", "cloud-metadata"),
                Map.entry("fd00:ec2::254", "cloud-metadata"), Map.entry("100.100.100.200", "cloud-metadata"),
                Map.entry("224.0.0.251", "multicast"), Map.entry("ff02::1", "multicast"),
                Map.entry("255.255.255.255", "reserved"), Map.entry("64:ff9b::a00:1", "private"),
                Map.entry("::ffff:169.254.169.254", "cloud-metadata"), Map.entry("2002:7f00:1::", "loopback"),
                Map.entry("2002:a9fe:a9fe::", "cloud-metadata"), Map.entry("2001:0:4136:e378::1", "reserved"),
                Map.entry("168.63.129.16", "cloud-metadata"), Map.entry("192.0.0.192", "cloud-metadata"),
                Map.entry("192.0.0.8", "reserved"));
        for (Map.Entry<String, String> entry : kinds.entrySet()) {
            assertThat(CallbackTargets.kindOf(InetAddress.getByName(entry.getKey()))).as(entry.getKey())
                    .isEqualTo(entry.getValue());
        }
        for (String address : List.of("8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111")) {
            assertThat(CallbackTargets.kindOf(InetAddress.getByName(address))).as(address).isNull();
        }
    }

    @Test
    void submitRefusesWhatNoDeliveryCouldReachSafely() throws Exception {
        assertThat(targets.problemAtSubmit("https://127.0.0.1/x")).hasValueSatisfying(p -> assertThat(p).contains("loopback"));
        assertThat(targets.problemAtSubmit("https://2130706433/x")).as("127.0.0.1 as one decimal number")
                .hasValueSatisfying(p -> assertThat(p).contains("ambiguous"));
        assertThat(targets.problemAtSubmit("https://0x7f.1/x")).as("127.0.0.1 in hex, as inet_aton reads it")
                .isPresent();
        assertThat(targets.problemAtSubmit("http://127.0.0.1:8098/x")).as("http off the allow-list").isPresent();
        assertThat(targets.problemAtSubmit("https://8.8.8.8/x")).isEmpty();
        assertThat(targets.problemAtSubmit("http://127.0.0.1:8099/x")).as("an allow-listed origin").isEmpty();
        assertThat(targets.problemAtSubmit("https://name.that.does.not.resolve.invalid/x"))
                .as("checked again at delivery").isEmpty();
        assertThat(targets.problemAtSubmit("https://example.com/" + "a".repeat(2100))).isPresent();
        for (String unreachable : List.of("https://8.8.8.8:99999/x", "https://8.8.8.8:0/x", "https://[fe80::1%25eth0]/",
                "https://[::1%25lo]/", "https://0177.0.0.1/", "https://127.1/", "https://localhost./",
                "https://LOCALHOST/")) {
            assertThat(targets.problemAtSubmit(unreachable)).as(unreachable).isPresent();
        }
    }

    @Test
    void aDeliveryConnectsToTheAddressItChecked() throws Exception {
        CallbackTargets.Pinned pinned = targets.pin("http://127.0.0.1:8099/hook?token=t");
        assertThat(pinned.address().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(pinned.url().getPath()).isEqualTo("/hook");

        assertThatThrownBy(() -> targets.pin("https://localhost/hook")).isInstanceOf(CallbackTargets.Refused.class)
                .hasMessageContaining("loopback");
    }

    private static CallbackSettings settings(List<String> allowed) {
        return new CallbackSettings(allowed, Duration.ofHours(24), Duration.ofSeconds(5), Duration.ofHours(1),
                Duration.ofSeconds(10), Duration.ofMinutes(2), Duration.ofHours(24));
    }
}
