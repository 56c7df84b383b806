package dev.falgate.callback;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.observation.ObservationRegistry;
import io.netty.channel.ChannelOption;
import io.netty.resolver.AbstractAddressResolver;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * One delivery attempt: a POST of the signed event to the pinned address (the one {@link CallbackTargets} checked),
 * on a connection of its own, without following redirects, within the attempt's timeout, reading at most 64 KiB of
 * the answer.
 */
final class CallbackSender {

    static final int MAX_ANSWER_BYTES = 64 * 1024;
    static final String USER_AGENT = "falgate-callbacks/1";

    private final WebClient.Builder web;
    private final CallbackSettings settings;

    CallbackSender(WebClient.Builder web, CallbackSettings settings) {
        this.web = web;
        this.settings = settings;
    }

    /** An event's body and the headers that sign it (Standard Webhooks', or fal's). */
    record Signed(java.util.Map<String, String> headers, String body) {
    }

    /** Sends and returns the answer's status; any failure to get one is an exception. */
    Mono<Integer> send(CallbackTargets.Pinned target, Signed event) {
        HttpClient http = HttpClient.create(ConnectionProvider.newConnection())
                .resolver(new PinnedAddress(target.address()))
                .followRedirect(false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(5_000, settings.timeout().toMillis()))
                .responseTimeout(settings.timeout());
        // unobserved: Boot's client metrics would make a series of every caller's host name
        return web.clone().observationRegistry(ObservationRegistry.NOOP)
                .clientConnector(new ReactorClientHttpConnector(http)).build()
                .post().uri(target.url())
                .contentType(MediaType.APPLICATION_JSON)
                .headers(headers -> event.headers().forEach(headers::set))
                .header("User-Agent", USER_AGENT)
                .bodyValue(event.body())
                .exchangeToMono(response -> {
                    AtomicLong read = new AtomicLong();
                    return response.bodyToFlux(DataBuffer.class)
                            .doOnNext(buffer -> {
                                read.addAndGet(buffer.readableByteCount());
                                DataBufferUtils.release(buffer);
                            })
                            .takeUntil(buffer -> read.get() >= MAX_ANSWER_BYTES) // the rest is left unread
                            .then(Mono.just(response.statusCode().value()));
                })
                .timeout(settings.timeout());
    }

    /** Resolves every name to the one address already checked, so the connection goes exactly there. */
    private static final class PinnedAddress extends AddressResolverGroup<InetSocketAddress> {

        private final InetAddress address;

        PinnedAddress(InetAddress address) {
            this.address = address;
        }

        @Override
        protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
            return new AbstractAddressResolver<>(executor, InetSocketAddress.class) {
                @Override
                protected boolean doIsResolved(InetSocketAddress unresolved) {
                    return !unresolved.isUnresolved();
                }

                @Override
                protected void doResolve(InetSocketAddress unresolved, Promise<InetSocketAddress> promise) {
                    promise.setSuccess(new InetSocketAddress(address, unresolved.getPort()));
                }

                @Override
                protected void doResolveAll(InetSocketAddress unresolved, Promise<List<InetSocketAddress>> promise) {
                    promise.setSuccess(List.of(new InetSocketAddress(address, unresolved.getPort())));
                }
            };
        }
    }
}
