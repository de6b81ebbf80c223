// The tour's service worker: pages network-first with a short timeout, narration
// cache-first, and byte ranges answered from the cache, which Safari needs to play audio.
"use strict";
const VERSION = {{ version|tojson }};
const LANGUAGES = {{ languages|tojson }};
const AUDIO = new Set({{ audio|tojson }});
const SHELL = {{ shell|tojson }};
const PAGES = "tour-pages-" + VERSION;
const SOUND = "tour-audio";
const NETWORK_TIMEOUT_MS = 3000;
let lastLanguage = LANGUAGES[0];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(PAGES).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // Pages the visitor had saved are fetched again from this build, then the old
    // build's cache is dropped: a saved tour stays saved, and up to date.
    const fresh = await caches.open(PAGES);
    for (const name of await caches.keys()) {
      if (!name.startsWith("tour-pages-") || name === PAGES) continue;
      const old = await caches.open(name);
      for (const request of await old.keys()) {
        if (await fresh.match(request, { ignoreVary: true })) continue;
        const path = new URL(request.url).pathname;
        let response;
        // A plaque address is never fetched again: that would count a scan nobody made.
        if (!path.startsWith("/s/")) response = await saving(path);
        // Offline or failing: keep the old copy rather than lose a saved page.
        await store(fresh, request.url, response && response.ok ? response : await old.match(request));
      }
      await caches.delete(name);
    }
    // Narration files are named by content. A stop whose narration changed gets the new
    // file before the old one goes, so a saved tour keeps playing offline.
    const sound = await caches.open(SOUND);
    for (const request of await sound.keys()) {
      const path = new URL(request.url).pathname;
      if (AUDIO.has(path)) continue;
      const prefix = path.split(".").slice(0, 2).join(".") + ".";
      const kind = path.slice(path.lastIndexOf(".")); // .mp3 or its captions' .vtt
      const replacement = [...AUDIO].find((c) => c.startsWith(prefix) && c.endsWith(kind));
      const response = replacement ? await saving(replacement) : undefined;
      if (response && response.ok) await store(sound, replacement, response);
      if (!replacement || (response && response.ok)) await sound.delete(request);
    }
    await self.clients.claim();
  })());
});

// Fetches made by the worker itself carry this header, so the server never counts them.
function saving(path) {
  return fetch(path, { credentials: "same-origin", headers: { "X-Tour-Save": "1" } }).catch(
    () => undefined
  );
}

// A full phone must not break browsing: a response that cannot be kept is still served.
async function store(cache, key, response) {
  if (!response) return;
  try {
    await cache.put(key, response);
  } catch (error) {
    // QuotaExceededError: the page or narration works now, just not offline.
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/admin") || url.pathname === "/sw.js") return;
  if (url.pathname.startsWith("/media/audio/")) {
    event.respondWith(narration(request));
    return;
  }
  event.respondWith(page(request, url));
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "save") {
    event.waitUntil(save(event.data.paths, event.source, Boolean(event.data.quiet)));
  }
});

function remember(url) {
  const lang = url.pathname.split("/")[1];
  if (LANGUAGES.includes(lang)) lastLanguage = lang;
}

async function page(request, url) {
  const cache = await caches.open(PAGES);
  const network = fetch(request).then(async (response) => {
    if (response.ok) await store(cache, request, response.clone());
    return response;
  });
  network.catch(() => {}); // a failure is handled below; do not report it twice
  remember(url);
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

async function fromCache(cache, url) {
  const cached = await cache.match(url.pathname, { ignoreVary: true, ignoreSearch: true });
  if (cached) return cached;
  // A photo saved with the tour is its 480 px JPEG, whatever width and format is asked for.
  const photo = /^(\/media\/photos\/[0-9a-f]+)-\d+\.\w+$/.exec(url.pathname);
  if (photo) return cache.match(`${photo[1]}-480.jpg`);
  // A plaque scanned offline: open the saved page in the visitor's language.
  const scan = /^\/s\/([a-z0-9-]+)$/.exec(url.pathname.toLowerCase());
  if (!scan) return undefined;
  for (const lang of [lastLanguage, ...LANGUAGES]) {
    const saved = await cache.match(`/${lang}/${scan[1]}`, { ignoreVary: true });
    if (saved) return saved;
  }
  return undefined;
}

async function wholeFile(path) {
  const sound = await caches.open(SOUND);
  const cached = await sound.match(path);
  if (cached) return cached;
  const response = await fetch(path);
  if (response.ok && response.status === 200) await store(sound, path, response.clone());
  return response;
}

async function narration(request) {
  const path = new URL(request.url).pathname;
  const whole = await wholeFile(path);
  const range = request.headers.get("Range");
  if (!range || !whole.ok) return whole;
  return slice(whole, range);
}

// Build a 206 from the cached body: the cache stores whole files, players ask for ranges.
async function slice(whole, header) {
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

// Save pages and narration for use without a signal, skipping what is already saved,
// so pressing "save" again after an interruption resumes where it stopped.
async function save(paths, client, quiet) {
  const pages = await caches.open(PAGES);
  const sound = await caches.open(SOUND);
  let done = 0;
  let failed = false;
  for (const path of paths) {
    const audio = path.startsWith("/media/audio/");
    const cache = audio ? sound : pages;
    try {
      if (!(await cache.match(path, { ignoreVary: true }))) {
        const response = await saving(path);
        if (!response || !response.ok) throw new Error(`${path}: not saved`);
        await cache.put(path, response);
      }
    } catch (error) {
      failed = true;
      break;
    }
    done += 1;
    if (!quiet && client) client.postMessage({ type: "progress", path, done, total: paths.length });
  }
  if (!quiet && client) client.postMessage({ type: failed ? "failed" : "saved", done, total: paths.length });
}
