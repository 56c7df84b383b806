// fal's official JS client against falgate, as FalClientCompatibilityTest runs it:
//   node fal-client-check.mjs <proxy url> <falgate key> <prompt marker>
// Every request goes through falgate's /fal/proxy (proxyUrl with when: "always"); one JSON line per step.
import { fal, ApiError, ValidationError } from "@fal-ai/client";

const [proxyUrl, credentials, marker] = process.argv.slice(2);
const endpoint = "fal-ai/ltx-video-v097/extend";
fal.config({ proxyUrl: { url: proxyUrl, when: "always" }, credentials });

const input = { prompt: `Woman walking on a street in Tokyo ${marker}`,
  video: { video_url: "https://example.com/in.mp4", start_frame_num: 24 } };
const print = (step, value) => console.log(JSON.stringify({ step, ...value }));
const failure = (e) => ({ ok: false, error: { name: e?.name, message: e?.message, status: e?.status, body: e?.body,
  validation: e instanceof ValidationError, api: e instanceof ApiError } });
async function step(name, run) {
  try {
    print(name, { ok: true, result: (await run()) ?? null });
  } catch (e) {
    print(name, failure(e));
  }
}

await step("subscribe", () => fal.subscribe(endpoint, { input, logs: true, pollInterval: 100 }));
let requestId;
await step("submit", async () => {
  const submitted = await fal.queue.submit(endpoint, { input: { ...input, seed: 7 } });
  requestId = submitted.request_id;
  return submitted;
});
// the same body again at once, as the client itself does after a transport error: the same request, not a second one
await step("submit-again", () => fal.queue.submit(endpoint, { input: { ...input, seed: 7 } }));
await step("status", () => fal.queue.status(endpoint, { requestId, logs: true }));
await step("result-early", () => fal.queue.result(endpoint, { requestId }));
await step("cancel", async () => { await fal.queue.cancel(endpoint, { requestId }); return { cancelled: true }; });
await step("invalid", () => fal.queue.submit(endpoint, { input: { prompt: "", video: { video_url: "not a url" } } }));
await step("other-endpoint", () => fal.run("fal-ai/flux/dev", { input: { prompt: "a cat" } }));
await step("run", () => fal.run(endpoint, { input: { ...input, seed: 8 } }));
