package dev.falgate.callback;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

import dev.falgate.web.AllowedHosts;

/**
 * Where callbacks may go (api.md): absolute https URLs (http only for allow-listed origins) whose host resolves to
 * no loopback, private, link-local, multicast, unspecified or cloud-metadata address, unless the host is on
 * {@code FALGATE_CALLBACK_ALLOWED_HOSTS}. Checked at submit and again at each delivery, where the address checked
 * is the one connected to ({@link Pinned}), so DNS can't answer differently between the check and the use.
 */
@Component
class CallbackTargets implements DisposableBean {

    static final int MAX_URL_CHARACTERS = 2048;
    private static final long RESOLVE_TIMEOUT_MS = 3_000;

    private final AllowedHosts allowed;
    /** Name lookups have no timeout of their own: they run here, and a caller waits at most RESOLVE_TIMEOUT_MS. */
    private final ThreadPoolExecutor resolver = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(256), runnable -> {
                Thread thread = new Thread(runnable, "callback-dns");
                thread.setDaemon(true);
                return thread;
            });
    /** A host written only with digits and dots must be a plain dotted quad: resolvers read 0177.1 as 127.0.0.1. */
    private static final Pattern NUMERIC = Pattern.compile("[0-9.]+");
    private static final Pattern DOTTED_QUAD =
            Pattern.compile("((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])");

    CallbackTargets(CallbackSettings settings) {
        this.allowed = new AllowedHosts(settings.allowedHosts());
        resolver.allowCoreThreadTimeOut(true);
    }

    /** A delivery's target: the URL and the checked address its connection goes to. */
    record Pinned(URI url, InetAddress address) {
    }

    /** Refused at delivery: retrying can't help while the host resolves where it does. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /** The host's addresses could not be learned now (DNS too slow, too many lookups at once): try again later. */
    static final class NoAnswer extends Exception {
        NoAnswer(String message) {
            super(message);
        }
    }

    /**
     * What is wrong with {@code text} as a callback URL given on submit, or empty when it may be used. A host that
     * does not exist (yet) is accepted: delivery checks it again, and retries. Throws {@link NoAnswer} when DNS can't
     * say now: the URL is neither accepted unchecked nor blamed on the caller.
     */
    Optional<String> problemAtSubmit(String text) throws NoAnswer {
        URI url;
        try {
            url = parse(text);
        } catch (Refused e) {
            return Optional.of(e.getMessage());
        }
        if (allowed.allows(url)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(forbidden(url.getHost(), resolve(url)));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    /** Resolves the URL's host now and picks the address to connect to, or refuses as at submit. */
    Pinned pin(String text) throws Refused, UnknownHostException, NoAnswer {
        URI url = parse(text);
        List<InetAddress> addresses = resolve(url);
        if (!allowed.allows(url)) {
            String problem = forbidden(url.getHost(), addresses);
            if (problem != null) {
                throw new Refused(problem);
            }
        }
        InetAddress first = addresses.get(0); // IPv4 first, as the JVM orders them by default
        // keeps the host name with the address: TLS sends it as SNI and checks the certificate against it
        return new Pinned(url, InetAddress.getByAddress(hostOf(url), first.getAddress()));
    }

    private URI parse(String text) throws Refused {
        if (text.length() > MAX_URL_CHARACTERS) {
            throw new Refused("must be at most " + MAX_URL_CHARACTERS + " characters");
        }
        URI url;
        try {
            url = new URI(text);
        } catch (URISyntaxException e) {
            throw new Refused("must be an absolute https URL");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!url.isAbsolute() || url.isOpaque() || url.getHost() == null || url.getHost().isEmpty()
                || !(scheme.equals("https") || scheme.equals("http"))) {
            throw new Refused("must be an absolute https URL with a host name (IDN hosts in their xn-- form)");
        }
        if (url.getRawUserInfo() != null) {
            throw new Refused("must not carry a user name or password; callbacks are authenticated by their signature");
        }
        if (url.getRawFragment() != null) {
            throw new Refused("must not have a #fragment");
        }
        if (url.getPort() == 0 || url.getPort() > 65535) {
            throw new Refused("must have a port from 1 to 65535");
        }
        String host = hostOf(url);
        if (host.contains("%")) {
            throw new Refused("must not name an IPv6 zone (%...)");
        }
        if (NUMERIC.matcher(host).matches() && !DOTTED_QUAD.matcher(host).matches()) {
            throw new Refused("must write an IPv4 address as four plain decimal numbers (" + host + " is ambiguous)");
        }
        if (scheme.equals("http") && !allowed.allows(url)) {
            throw new Refused("must use https; http is allowed only for origins on FALGATE_CALLBACK_ALLOWED_HOSTS");
        }
        return url;
    }

    /** The host as written, without brackets around an IPv6 literal or one trailing dot. */
    private static String hostOf(URI url) {
        String host = url.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    }

    private List<InetAddress> resolve(URI url) throws UnknownHostException, NoAnswer {
        String host = hostOf(url);
        Future<InetAddress[]> lookup;
        try {
            lookup = resolver.submit(() -> InetAddress.getAllByName(host));
        } catch (RejectedExecutionException e) {
            throw new NoAnswer("too many name lookups at once");
        }
        try {
            return Arrays.asList(lookup.get(RESOLVE_TIMEOUT_MS, TimeUnit.MILLISECONDS));
        } catch (ExecutionException e) {
            throw e.getCause() instanceof UnknownHostException unknown ? unknown : new UnknownHostException(host);
        } catch (TimeoutException e) {
            lookup.cancel(true);
            throw new NoAnswer("no answer from DNS within " + RESOLVE_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NoAnswer("interrupted");
        }
    }

    /** Why callbacks may not go to {@code host} at these addresses, or null when every one is public. */
    private static String forbidden(String host, List<InetAddress> addresses) {
        for (InetAddress address : addresses) {
            String kind = kindOf(address);
            if (kind != null) {
                return "resolves to " + address.getHostAddress() + ", a " + kind + " address, which callbacks may not "
                        + "reach unless " + host + " is on FALGATE_CALLBACK_ALLOWED_HOSTS";
            }
        }
        return null;
    }

    /** The kind of non-public address this is, or null for a public one. */
    static String kindOf(InetAddress address) {
        if (address instanceof Inet6Address) {
            byte[] b = address.getAddress();
            InetAddress embedded = embeddedIpv4(b);
            if (embedded != null) {
                return kindOf(embedded);
            }
            if (b[0] == 0x20 && b[1] == 0x02) { // 6to4 (2002::/16): the IPv4 address it tunnels to
                String kind = kindOf(ipv4(Arrays.copyOfRange(b, 2, 6)));
                if (kind != null) {
                    return kind;
                }
            }
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
                return "reserved"; // Teredo (2001::/32): its IPv4 addresses are hidden in the bits
            }
            if (b[0] == (byte) 0xfd && b[1] == 0 && b[2] == 0x0e && b[3] == (byte) 0xc2) {
                return "cloud-metadata"; // fd00:ec2::/32, AWS's instance metadata over IPv6 (fd00:ec2::254)
            }
            if ((b[0] & 0xfe) == 0xfc) {
                return "private"; // fc00::/7, unique local
            }
            if ((b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0xc0) {
                return "private"; // fec0::/10, the old site-local
            }
        }
        if (address.isAnyLocalAddress()) {
            return "unspecified";
        }
        if (address.isLoopbackAddress()) {
            return "loopback";
        }
        if (address.isMulticastAddress()) {
            return "multicast";
        }
        if (address instanceof Inet4Address) {
            byte[] b = address.getAddress();
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            String dotted = address.getHostAddress();
            if (dotted.equals("169.254.169.254") || dotted.equals("100.100.100.200") || dotted.equals("168.63.129.16")
                    || dotted.equals("192.0.0.192")) {
                // AWS, GCP, Azure…; Alibaba; Azure's WireServer; Oracle Cloud
                return "cloud-metadata";
            }
            if (first == 192 && second == 0 && (b[2] & 0xff) == 0) {
                return "reserved"; // 192.0.0.0/24, IETF protocol assignments
            }
            if (first == 0) {
                return "unspecified"; // 0.0.0.0/8: "this network", which Linux connects to itself
            }
            if (first == 100 && (second & 0xc0) == 64) {
                return "private"; // 100.64.0.0/10, carrier-grade NAT
            }
            if (first == 198 && (second == 18 || second == 19)) {
                return "private"; // 198.18.0.0/15, network benchmarking
            }
            if (first >= 240) {
                return "reserved"; // 240.0.0.0/4 and the broadcast address
            }
        }
        if (address.isLinkLocalAddress()) {
            return "link-local";
        }
        if (address.isSiteLocalAddress()) {
            return "private";
        }
        return null;
    }

    /** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), -compatible (::a.b.c.d) or NAT64 (64:ff9b::/96) one. */
    private static InetAddress embeddedIpv4(byte[] b) {
        boolean zeros = true;
        for (int i = 0; i < 10; i++) {
            zeros &= b[i] == 0;
        }
        boolean mapped = zeros && b[10] == (byte) 0xff && b[11] == (byte) 0xff;
        boolean compatible = zeros && b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0);
        boolean nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
        return mapped || compatible || nat64 ? ipv4(Arrays.copyOfRange(b, 12, 16)) : null;
    }

    private static InetAddress ipv4(byte[] four) {
        try {
            return InetAddress.getByAddress(four);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are an IPv4 address", e);
        }
    }

    @Override
    public void destroy() {
        resolver.shutdownNow();
    }
}
