// The tour's service worker: pages network-first with a short timeout; narration from the
// cache with byte ranges (Safari needs them to play audio), or, when not saved yet, straight
// from the network while one background download saves it.
"use strict";
const VERSION = {{ version|tojson }};
const LANGUAGES = {{ languages|tojson }};
const AUDIO = new Set({{ audio|tojson }});
const SHELL = {{ shell|tojson }};
const PAGES = "tour-pages-" + VERSION;
const SOUND = "tour-audio";
// What the worker must remember between lives: the browser stops an idle worker at will.
const STATE = "tour-state";
// Cache keys only, never fetched.
const LANGUAGE_KEY = "/tour-state/language";
const VERSION_KEY = "/tour-state/version";
const NETWORK_TIMEOUT_MS = 3000;
// Pages kept besides the shell, oldest dropped first: far above a whole tour saved in every
// language (the bundled tour has about 40 pages), yet bounded.
const PAGE_LIMIT = 200;
// Bringing saved pages and narration up to date after a new build stops after this long;
// what is left is done in the worker's next life.
const TIDY_BUDGET_MS = 60000;
// Background downloads wait while narration streams to a player, but no longer than this,
// so a paused player cannot hold them back for good.
const QUIET_WAIT_MS = 10000;
// A tap on play hushes background downloads until the page says the sound has started and
// buffered, but no longer than this after the page last renewed it, so a lost message
// cannot hold them back for good.
const HUSH_MS = 10000;

// The shell is fetched as background work, so a tap on play while the worker installs
// (on the first page, right after it loads) has the link to itself.
self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(PAGES)
      .then((cache) =>
        Promise.all(
          SHELL.map(async (path) => {
            const response = await background(path);
            if (!response || !response.ok) throw new Error(`${path} could not be fetched`);
            await cache.put(path, response);
          })
        )
      )
      .then(() => self.skipWaiting())
  );
});

// No fetch here. The browser holds every request of the pages until activation ends, so a
// download here would stall the visit on a weak link. Saved pages and narration are brought
// up to date afterwards by tidy(), in the background.
self.addEventListener("activate", (event) => {
  event.waitUntil(
    Promise.all([
      self.clients.claim(),
      caches.open(STATE).then((state) => store(state, VERSION_KEY, new Response(VERSION))),
    ])
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/admin") || url.pathname === "/sw.js") return;
  let answer;
  if (url.pathname.startsWith("/media/audio/")) {
    answer = narration(event, url.pathname);
  } else {
    answer = page(request, url);
    event.waitUntil(remember(url));
  }
  event.respondWith(answer);
  tidyAfter(event, answer);
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "save") {
    event.waitUntil(save(event.data.paths, event.source, Boolean(event.data.quiet)));
  } else if (event.data && event.data.type === "hush") {
    hush(event.source && event.source.id);
  } else if (event.data && event.data.type === "heard") {
    unhush(event.source && event.source.id);
  }
  tidyAfter(event, Promise.resolve());
});

// --- the background job: a new build's saved pages and narration ------------------------

let tidying; // this worker life's tidy, started by its first event

// Run tidy() once per worker life, after the answer to the event that woke the worker, and
// keep the worker alive for it (bounded) through that event and any that come meanwhile.
// The work is read from the caches, so a worker stopped halfway resumes in its next life.
function tidyAfter(event, first) {
  if (!tidying) tidying = first.catch(() => {}).then(tidy).catch(() => {});
  event.waitUntil(within(tidying, TIDY_BUDGET_MS));
}

function within(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms))]);
}

// A worker of an earlier build may still be running when a newer one installs or takes
// over: it must then leave the caches alone, or it would drop the newer build's.
async function superseded() {
  const registration = self.registration;
  if (registration.installing || registration.waiting) return true;
  const current = await (await caches.open(STATE)).match(VERSION_KEY);
  return !current || (await current.text()) !== VERSION;
}

async function tidy() {
  const deadline = Date.now() + TIDY_BUDGET_MS;
  const stop = async () => Date.now() > deadline || (await superseded());
  // Pages the visitor had saved are fetched again from this build, then the old build's
  // cache is dropped: a saved tour stays saved, and up to date.
  const fresh = await caches.open(PAGES);
  for (const name of await caches.keys()) {
    if (!name.startsWith("tour-pages-") || name === PAGES) continue;
    const old = await caches.open(name);
    for (const request of await old.keys()) {
      if (await stop()) return;
      const path = new URL(request.url).pathname;
      if (await fresh.match(path, { ignoreVary: true })) continue;
      let response;
      // A plaque address is never fetched again: that would count a scan nobody made.
      if (!path.startsWith("/s/")) response = await background(path);
      // Offline or failing: keep the old copy rather than lose a saved page.
      await store(fresh, path, response && response.ok ? response : await old.match(request));
    }
    if (await stop()) return;
    await caches.delete(name);
  }
  await trim(fresh);
  // Narration files are named by content. A stop whose narration changed gets the new
  // file before the old one goes, so a saved tour keeps playing offline.
  const sound = await caches.open(SOUND);
  for (const request of await sound.keys()) {
    if (await stop()) return;
    const path = new URL(request.url).pathname;
    if (AUDIO.has(path)) continue;
    const prefix = path.split(".").slice(0, 2).join(".") + ".";
    const kind = path.slice(path.lastIndexOf(".")); // .mp3 or its captions' .vtt
    const replacement = [...AUDIO].find((c) => c.startsWith(prefix) && c.endsWith(kind));
    if (!replacement || ((await download(replacement)) && !(await stop()))) {
      await sound.delete(request);
    }
  }
}

// --- fetching in the background ----------------------------------------------------------

// Narration streaming to a player right now: the visitor is waiting for that sound.
const streams = new Set();

// A sound the visitor has just asked for (a tap on play, told by the page): until it has
// started and buffered, background downloads under way are aborted and none starts. Each
// page (client) holds its own hush, so one tab's "heard" does not end another's; each
// ends by itself after HUSH_MS, which the page renews while its sound still buffers.
const hushes = new Map(); // client id → when its hush ends
let hushOver = Promise.resolve();
let endHush = () => {};
// Background fetches under way, to abort on a hush.
const fetching = new Set();

function hushed() {
  const now = Date.now();
  for (const [client, until] of hushes) if (now >= until) hushes.delete(client);
  return hushes.size > 0;
}

function hush(client) {
  if (!hushed()) hushOver = new Promise((resolve) => (endHush = resolve));
  hushes.set(client || "", Date.now() + HUSH_MS);
  setTimeout(() => {
    if (!hushed()) endHush();
  }, HUSH_MS + 10);
  for (const controller of fetching) controller.abort();
}

function unhush(client) {
  hushes.delete(client || "");
  if (!hushed()) endHush();
}

// Background work waits until no narration is streaming and no sound is starting, so on a
// weak link the sound the visitor asked for is not shared with downloads nobody is waiting for.
async function quiet() {
  const deadline = Date.now() + QUIET_WAIT_MS;
  while ((streams.size || hushed()) && Date.now() < deadline) {
    await within(Promise.all([...streams, hushOver]), deadline - Date.now());
  }
}

// Fetch in the background, read whole. A download a hush aborts starts again once the
// sound has what it needs; undefined when offline or failing.
async function background(path) {
  for (;;) {
    await quiet();
    const controller = new AbortController();
    fetching.add(controller);
    try {
      // Fetches made by the worker itself carry this header, so the server never counts them.
      const response = await fetch(path, {
        credentials: "same-origin",
        headers: { "X-Tour-Save": "1" },
        signal: controller.signal,
      });
      // Read here, so a hush stops the body too, not only the request.
      const body = await response.arrayBuffer();
      const headers = new Headers(response.headers);
      // The body is decoded now: the network's encoding and length no longer describe it.
      headers.delete("Content-Encoding");
      headers.delete("Content-Length");
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    } catch (error) {
      if (!controller.signal.aborted) return undefined;
    } finally {
      fetching.delete(controller);
    }
  }
}

// Narration downloads under way, by path: a file is downloaded once, however many
// requests, saves and prefetches ask for it meanwhile.
const downloads = new Map();

// Save a narration file whole in the cache; resolves to whether it is there.
function download(path) {
  let running = downloads.get(path);
  if (running) return running;
  running = (async () => {
    const sound = await caches.open(SOUND);
    if (await sound.match(path)) return true;
    const response = await background(path);
    if (!response || response.status !== 200) return false;
    return store(sound, path, response);
  })()
    .catch(() => false)
    .finally(() => downloads.delete(path));
  downloads.set(path, running);
  return running;
}

// A full phone must not break browsing: a response that cannot be kept is still served.
async function store(cache, key, response) {
  if (!response) return false;
  try {
    await cache.put(key, response);
    return true;
  } catch (error) {
    // QuotaExceededError: the page or narration works now, just not offline.
    return false;
  }
}

// --- pages ----------------------------------------------------------------------------

// Pages are kept by path: a link with ?utm_source=... is the same page.
async function keepPage(cache, path, response) {
  const kept = await store(cache, path, response);
  await trim(cache);
  return kept;
}

let trimming = Promise.resolve();

// Drop the oldest pages beyond PAGE_LIMIT; the shell always stays. One trim at a time.
function trim(cache) {
  trimming = trimming
    .then(async () => {
      const pages = (await cache.keys()).filter(
        (request) => !SHELL.includes(new URL(request.url).pathname)
      );
      for (const request of pages.slice(0, Math.max(0, pages.length - PAGE_LIMIT))) {
        await cache.delete(request);
      }
    })
    .catch(() => {});
  return trimming;
}

// The language of the last page opened, kept in the cache: a plaque scanned offline opens
// in it, even after the browser has stopped and restarted the worker.
let storedLanguage; // what the cache holds, once read or written in this worker life

async function remember(url) {
  const lang = url.pathname.split("/")[1];
  if (!LANGUAGES.includes(lang) || lang === storedLanguage) return;
  storedLanguage = lang;
  await store(await caches.open(STATE), LANGUAGE_KEY, new Response(lang));
}

async function lastLanguage() {
  const saved = await (await caches.open(STATE)).match(LANGUAGE_KEY);
  const lang = saved ? await saved.text() : undefined;
  return LANGUAGES.includes(lang) ? lang : LANGUAGES[0];
}

async function page(request, url) {
  const cache = await caches.open(PAGES);
  const network = fetch(request).then(async (response) => {
    if (response.ok) await keepPage(cache, url.pathname, response.clone());
    return response;
  });
  network.catch(() => {}); // a failure is handled below; do not report it twice
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, "timeout"));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") return first;
    const cached = await fromCache(cache, url);
    return cached || (await network);
  } catch (error) {
    const cached = await fromCache(cache, url);
    if (cached) return cached;
    throw error;
  }
}

// This build's copy first, then one an earlier build saved that tidy() has not moved yet.
async function savedPage(cache, path) {
  const options = { ignoreVary: true, ignoreSearch: true };
  return (await cache.match(path, options)) || (await caches.match(path, options));
}

async function fromCache(cache, url) {
  const cached = await savedPage(cache, url.pathname);
  if (cached) return cached;
  // A photo saved with the tour is its 480 px JPEG, whatever width and format is asked for.
  const photo = /^(\/media\/photos\/[0-9a-f]+)-\d+\.\w+$/.exec(url.pathname);
  if (photo) return cache.match(`${photo[1]}-480.jpg`);
  // A plaque scanned offline: open the saved page in the visitor's language.
  const scan = /^\/s\/([a-z0-9-]+)$/.exec(url.pathname.toLowerCase());
  if (!scan) return undefined;
  for (const lang of [await lastLanguage(), ...LANGUAGES]) {
    const saved = await savedPage(cache, `/${lang}/${scan[1]}`);
    if (saved) return saved;
  }
  return undefined;
}

// --- narration --------------------------------------------------------------------------

async function narration(event, path) {
  const range = event.request.headers.get("Range");
  const cached = await (await caches.open(SOUND)).match(path);
  if (cached) return range ? slice(cached, range) : cached;
  if (range && range.includes(",")) {
    // Several ranges want about the whole file: save it, then answer as from the cache.
    return (await download(path)) ? narration(event, path) : fetch(path);
  }
  // Not saved yet: the player's own request goes to the network, byte range and all, so
  // the sound starts with the first bytes; one background download then saves the file.
  let ended;
  const streamed = new Promise((resolve) => (ended = resolve));
  streams.add(streamed);
  // Downloads under way stop too; the page lifts the hush once the sound has buffered.
  hush(event.clientId);
  streamed.then(() => streams.delete(streamed));
  event.waitUntil(download(path));
  let response;
  try {
    response = await fetch(event.request);
  } finally {
    if (!response || !response.ok || !response.body) ended();
  }
  if (!response.ok || !response.body) return response;
  const { readable, writable } = new TransformStream();
  // The stream ends when the player has read it all, or has let it go.
  response.body.pipeTo(writable).catch(() => {}).then(ended);
  return new Response(readable, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

// Build a 206 from the cached body: the cache stores whole files, players ask for ranges.
async function slice(whole, header) {
  // Several ranges at once would need a multipart answer; the whole file answers any
  // range request.
  if (header.includes(",")) return whole;
  const body = await whole.arrayBuffer();
  const size = body.byteLength;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  let start = NaN;
  let end = NaN;
  if (match && match[1] !== "") {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  } else if (match && match[2] !== "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  }
  if (!(start <= end) || start >= size) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  return new Response(body.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": "audio/mpeg",
      "Content-Length": String(end - start + 1),
      "Content-Range": `bytes ${start}-${end}/${size}`,
      "Accept-Ranges": "bytes",
    },
  });
}

// --- saving the tour --------------------------------------------------------------------

// Save pages and narration for use without a signal, skipping what is already saved,
// so pressing "save" again after an interruption resumes where it stopped.
async function save(paths, client, silent) {
  const pages = await caches.open(PAGES);
  let done = 0;
  let failed = false;
  for (const path of paths) {
    const saved = path.startsWith("/media/audio/")
      ? await download(path)
      : await savePage(pages, path).catch(() => false);
    if (!saved) {
      failed = true;
      break;
    }
    done += 1;
    if (!silent && client) client.postMessage({ type: "progress", path, done, total: paths.length });
  }
  if (!silent && client) client.postMessage({ type: failed ? "failed" : "saved", done, total: paths.length });
}

async function savePage(pages, path) {
  if (await pages.match(path, { ignoreVary: true })) return true;
  const response = await background(path);
  return Boolean(response && response.ok) && keepPage(pages, path, response);
}
