// Working without a signal: register the service worker, save the whole tour with a
// progress bar, prefetch the next stops, place the visitor on the map, and read the
// text with the phone's own voice when a narration cannot be played.
(function () {
  "use strict";
  var lang = document.documentElement.dataset.lang;  // the tour code (zh), not the tag (zh-Hans)
  var SAVING_KEY = "tour-saving-" + lang;

  function number(value, decimal) {
    return value.toFixed(1).replace(".", decimal);
  }

  // --- the phone's own voice ---------------------------------------------------------
  var voiceButton = document.getElementById("phone-voice");
  if (voiceButton && "speechSynthesis" in window) {
    var audio = document.querySelector("#player audio");
    var offerVoice = function () { voiceButton.hidden = false; };
    if (!audio) {
      offerVoice();
    } else {
      audio.addEventListener("error", offerVoice);
      if (!navigator.onLine && "caches" in window) {
        caches.match(new URL(audio.src).pathname).then(function (found) {
          if (!found) offerVoice();
        });
      }
    }
    voiceButton.addEventListener("click", function () {
      var text = Array.prototype.map
        .call(document.querySelectorAll(".transcript p"), function (p) { return p.textContent; })
        .join("\n\n");
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = lang;
      var voice = window.speechSynthesis.getVoices().filter(function (v) {
        return v.lang.toLowerCase().indexOf(lang) === 0;
      })[0];
      if (voice) utterance.voice = voice;
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(utterance);
    });
  }

  // --- the visitor's position: one watch for the map and the arrival nudge ---------
  // It runs only while the page is shown: a hidden page stops it, to spare the battery,
  // and shows it again when the visitor comes back.
  var map = document.getElementById("map");
  var places = map ? map.querySelectorAll("g[data-lat]") : [];
  var followers = [];
  var watchId = null;

  // Metres from a place on the map to a fix (haversine: exact enough on an island).
  function distanceTo(place, coords) {
    var rad = Math.PI / 180;
    var lat = Number(place.dataset.lat);
    var lon = Number(place.dataset.lon);
    var a = Math.pow(Math.sin((lat - coords.latitude) * rad / 2), 2) + Math.cos(lat * rad) *
      Math.cos(coords.latitude * rad) * Math.pow(Math.sin((lon - coords.longitude) * rad / 2), 2);
    return 2 * 6371000 * Math.asin(Math.sqrt(a));
  }

  function nearestPlace(coords) {
    var best = { place: null, distance: Infinity };
    Array.prototype.forEach.call(places, function (place) {
      var d = distanceTo(place, coords);
      if (d < best.distance) best = { place: place, distance: d };
    });
    return best;
  }

  function startWatching() {
    if (watchId !== null || document.hidden || !followers.length) return;
    watchId = navigator.geolocation.watchPosition(function (position) {
      followers.forEach(function (follower) { follower.found(position); });
    }, function () {
      followers.forEach(function (follower) { if (follower.failed) follower.failed(); });
    }, { enableHighAccuracy: true, maximumAge: 10000 });
  }

  function stopWatching() {
    if (watchId === null) return;
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }

  // A new follower restarts the watch, so that it gets a fix now rather than at the next move.
  function follow(follower) {
    followers.push(follower);
    stopWatching();
    startWatching();
  }

  if (map && "geolocation" in navigator) {
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) stopWatching(); else startWatching();
    });
  }

  // --- the map: where am I? --------------------------------------------------------
  var locate = document.getElementById("locate");
  if (map && locate && "geolocation" in navigator) {
    var nearest = document.getElementById("nearest");
    var dot = document.getElementById("you");
    var show = function (position) {
      var lat = position.coords.latitude;
      var lon = position.coords.longitude;
      dot.setAttribute("cx", (lon - Number(map.dataset.west)) * Number(map.dataset.x));
      dot.setAttribute("cy", (Number(map.dataset.north) - lat) * Number(map.dataset.y));
      dot.setAttribute("visibility", "visible");
      var best = nearestPlace(position.coords);
      if (best.place) {
        nearest.textContent = nearest.dataset.label + ": " + best.place.dataset.name + ", " +
          Math.round(best.distance) + " m";
      }
    };
    var fail = function () { nearest.textContent = nearest.dataset.failed; };
    var located = false;
    locate.hidden = false;
    locate.addEventListener("click", function () {
      if (located) return;
      located = true;
      follow({ found: show, failed: fail });
    });
  }

  // --- a nudge on arrival ----------------------------------------------------------
  // Only for a visitor who has already allowed location (this never asks for it): near a
  // place they have not opened today, a banner offers its page. It never plays anything.
  // What the phone keeps, and only on the phone: today's date and the codes of the places
  // opened or offered today. The saved pages cannot tell this, as the service worker also
  // keeps pages the visitor never opened (the next stops, the whole saved tour).
  var arrival = document.getElementById("arrival");
  var arrivalWords = {{ arrival_words|tojson }}[lang];
  var ARRIVAL_KEY = "tour-arrival";
  var ARRIVAL_METRES = 25;

  function today() {
    var now = new Date();
    return now.getFullYear() + "-" + (now.getMonth() + 1) + "-" + now.getDate();
  }

  // A place's code ends its page's address, in every language: /en/masjid, /id/masjid.
  function placeCode(place) {
    return place.dataset.href.split("/").pop();
  }

  // Today's codes; an entry of a past day (or a damaged one) is removed, not just ignored.
  function keptToday() {
    var kept = null;
    try {
      kept = JSON.parse(window.localStorage.getItem(ARRIVAL_KEY) || "null");
    } catch (error) { /* private mode or a damaged entry: start afresh */ }
    if (kept && kept.day === today() && Array.isArray(kept.codes)) return kept.codes;
    try { window.localStorage.removeItem(ARRIVAL_KEY); } catch (error) { /* private mode */ }
    return [];
  }
  keptToday(); // on every page, also where the nudge is off

  // Also kept in memory, for a phone that refuses storage (private mode).
  var seen = [];

  function isSeen(code) {
    return seen.indexOf(code) >= 0 || keptToday().indexOf(code) >= 0;
  }

  function markSeen(code) {
    seen.push(code);
    var codes = keptToday();
    if (codes.indexOf(code) < 0) codes.push(code);
    try {
      window.localStorage.setItem(ARRIVAL_KEY, JSON.stringify({ day: today(), codes: codes }));
    } catch (error) { /* private mode: `seen` still holds it for this page */ }
  }

  if (arrival && arrivalWords && map && "geolocation" in navigator && navigator.permissions) {
    var offered = null;
    var opened = map.querySelector("g.here[data-href]");
    if (opened) markSeen(placeCode(opened));

    // Styled here rather than in page.css, so the first view carries none of it. The
    // colours are the page's own, at 7:1 or more in light and dark.
    var styled = function (tag, style, more) {
      var element = document.createElement(tag);
      [style, more || {}].forEach(function (styles) {
        Object.keys(styles).forEach(function (key) { element.style[key] = styles[key]; });
      });
      return element;
    };
    var target = { display: "inline-flex", alignItems: "center", minHeight: "44px", padding: "0 1rem",
      font: "inherit", fontSize: "1rem", borderRadius: ".4rem", border: "2px solid var(--fg)" };
    // Where focus was when the banner came, to give it back when the banner goes.
    var focusBefore = null;
    var withdraw = function () {
      var hadFocus = arrival.contains(document.activeElement);
      offered = null;
      arrival.textContent = "";
      document.body.style.paddingBottom = "";
      if (!hadFocus) return;
      var back = focusBefore;
      if (!back || back === document.body || !document.contains(back)) {
        back = document.querySelector("h1");
        back.tabIndex = -1;
      }
      back.focus();
    };
    var offer = function (place) {
      if (!arrival.contains(document.activeElement)) focusBefore = document.activeElement;
      offered = place;
      markSeen(placeCode(place));
      var banner = styled("div", { position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2",
        maxWidth: "40rem", margin: "0 auto", padding: ".75rem 1rem", display: "flex",
        flexWrap: "wrap", alignItems: "center", gap: ".5rem", color: "var(--fg)",
        background: "var(--card)", borderTop: "3px solid var(--fg)" });
      var text = styled("p", { margin: "0", flex: "1 1 100%", fontWeight: "600" });
      text.textContent = arrivalWords.offer.replace("{name}", function () { return place.dataset.name; });
      var link = styled("a", target, { color: "var(--bg)", background: "var(--fg)", fontWeight: "700" });
      link.href = place.dataset.href;
      link.textContent = arrivalWords.open;
      var dismiss = styled("button", target, { color: "var(--fg)", background: "var(--bg)" });
      dismiss.type = "button";
      dismiss.textContent = arrivalWords.dismiss;
      dismiss.addEventListener("click", withdraw);
      banner.appendChild(text);
      banner.appendChild(link);
      banner.appendChild(dismiss);
      arrival.textContent = "";
      arrival.appendChild(banner);
      // Room below the page's end (the next stop), which the fixed banner would cover.
      document.body.style.paddingBottom = "";
      document.body.style.paddingBottom =
        parseFloat(getComputedStyle(document.body).paddingBottom) + banner.offsetHeight + "px";
    };
    // Offer the nearest place only when the fix, with its whole margin of error, lies
    // within 25 m of it: a vague fix ("within 60 m") says nothing about arriving.
    var arrive = function (position) {
      var coords = position.coords;
      if (offered && distanceTo(offered, coords) - coords.accuracy > 2 * ARRIVAL_METRES) {
        withdraw(); // the visitor has walked on: the banner would no longer be true
      }
      var best = nearestPlace(coords);
      if (!best.place || best.distance + coords.accuracy > ARRIVAL_METRES) return;
      if (isSeen(placeCode(best.place))) return;
      offer(best.place);
    };
    var following = false;
    var allowed = function (state) {
      if (state !== "granted" || following) return;
      following = true;
      follow({ found: arrive });
    };
    navigator.permissions.query({ name: "geolocation" }).then(function (permission) {
      allowed(permission.state);
      // Allowing location later, for the map, starts the nudge too.
      permission.addEventListener("change", function () { allowed(permission.state); });
    }).catch(function () { /* no Permissions API for geolocation: no nudge */ });
  }

  // --- offline: the service worker, saving, prefetching ----------------------------
  if (!("serviceWorker" in navigator)) return;

  // A tap on play hushes the worker's background downloads (installing the worker,
  // prefetching, saving the tour), until the sound has started and buffered well ahead:
  // on a weak link the sound the visitor asked for then has the link to itself.
  var player = document.querySelector("#player audio");
  var AHEAD_S = 20;
  var tell = function (message) {
    navigator.serviceWorker.getRegistration().then(function (registration) {
      if (!registration) return;
      [registration.installing, registration.waiting, registration.active].forEach(function (worker) {
        if (worker) worker.postMessage(message);
      });
    }).catch(function () {});
  };
  var hushed = false;
  if (player) {
    var release = function () {
      if (!hushed) return;
      hushed = false;
      tell({ type: "heard" });
    };
    // On a link barely faster than the sound, buffering takes longer than the worker's
    // own bound on a hush: renew it while the sound still buffers.
    var RENEW_MS = 4000;
    var renewed = 0;
    var hush = function () {
      hushed = true;
      renewed = Date.now();
      tell({ type: "hush" });
    };
    var buffered = function () {
      if (!hushed || player.paused) return;
      var ranges = player.buffered;
      var end = ranges.length ? ranges.end(ranges.length - 1) : 0;
      var enough = end - player.currentTime >= AHEAD_S || end >= player.duration - 0.5;
      if (player.readyState >= 3 && enough) release();
      else if (Date.now() - renewed >= RENEW_MS) hush();
    };
    player.addEventListener("play", hush);
    ["playing", "progress", "timeupdate", "waiting"].forEach(function (type) {
      player.addEventListener(type, buffered);
    });
    ["pause", "ended", "error"].forEach(function (type) { player.addEventListener(type, release); });
  }

  // The worker is registered a moment after the page has loaded, or, when play was tapped
  // by then, once the sound has buffered: fetching it and its shell is background work
  // too, and on a weak link a tap right after load should find the link free.
  var REGISTER_DELAY_MS = 1000;
  var registered = false;
  var register = function () {
    if (registered) return;
    if (hushed) return setTimeout(register, REGISTER_DELAY_MS);  // not yet: ask again later
    registered = true;
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  };
  var registerLater = function () { setTimeout(register, REGISTER_DELAY_MS); };
  if (document.readyState === "complete") registerLater();
  else window.addEventListener("load", registerLater);
  var box = document.getElementById("offline");
  if (!box) return;
  var button = document.getElementById("save-tour");
  var bar = document.getElementById("save-progress");
  var status = document.getElementById("save-status");
  var sizes = {};
  var totalBytes = 0;
  var stops = 0;
  var savedBytes = 0;
  var savedStops = 0;
  box.hidden = false;

  function post(message) {
    return navigator.serviceWorker.ready.then(function (registration) {
      registration.active.postMessage(message);
    });
  }

  function paths() {
    return fetch("/api/tour.json").then(function (response) { return response.json(); })
      .then(function (tour) {
        var list = ["/" + lang + "/"];
        sizes = {};
        totalBytes = 0;
        stops = tour.stops.length;
        tour.stops.forEach(function (stop) {
          list.push(stop.pages[lang].path);
          var sound = stop.audio[lang];
          if (sound) {
            list.push(sound.path);
            sizes[sound.path] = sound.size;
            totalBytes += sound.size;
            if (sound.captions) {
              list.push(sound.captions); // the read-along's timings
              sizes[sound.captions] = sound.captions_size || 0; // absent from older builds
              totalBytes += sound.captions_size || 0;
            }
          }
          (stop.photos || []).forEach(function (photo) {
            list.push(photo.path);
            sizes[photo.path] = photo.size;
            totalBytes += photo.size;
          });
        });
        return list;
      });
  }

  function saveAll() {
    savedBytes = 0;
    savedStops = 0;
    button.disabled = true;
    bar.hidden = false;
    status.textContent = box.dataset.saving + "…";
    try { window.localStorage.setItem(SAVING_KEY, "1"); } catch (error) { /* private mode */ }
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
    paths().then(function (list) {
      bar.max = list.length;
      return post({ type: "save", paths: list });
    }).catch(function () {
      button.disabled = false;
      status.textContent = box.dataset.failed;
    });
  }

  navigator.serviceWorker.addEventListener("message", function (event) {
    var message = event.data || {};
    if (message.type === "progress") {
      bar.value = message.done;
      if (sizes[message.path]) savedBytes += sizes[message.path];
      if (message.path.indexOf("/" + lang + "/") === 0 && message.path.length > lang.length + 2) savedStops += 1;
      status.textContent = box.dataset.saving + ": " + savedStops + "/" + stops + " " +
        box.dataset.places + " · " + number(savedBytes / 1e6, box.dataset.decimal) + "/" +
        number(totalBytes / 1e6, box.dataset.decimal) + " MB";
    } else if (message.type === "saved") {
      bar.value = bar.max;
      button.disabled = false;
      status.textContent = box.dataset.saved;
      try { window.localStorage.removeItem(SAVING_KEY); } catch (error) { /* private mode */ }
    } else if (message.type === "failed") {
      button.disabled = false;
      status.textContent = box.dataset.failed;
    }
  });
  button.addEventListener("click", saveAll);
  // Keep every page the visitor opens, from the first one on. A plaque's address is kept
  // as its page in this language: fetching /s/ again would count a second scan.
  var here = window.location.pathname;
  var plaque = /^\/s\/([^/]+)$/.exec(here);
  post({ type: "save", paths: [plaque ? "/" + lang + "/" + plaque[1].toLowerCase() : here], quiet: true });

  var saving = false;
  try { saving = window.localStorage.getItem(SAVING_KEY) === "1"; } catch (error) { /* private mode */ }
  if (saving && navigator.onLine) {
    saveAll(); // an earlier save was interrupted: carry on
    return;
  }

  // Prefetch the next stops, unless the visitor asked to save data or the link is slow.
  var connection = navigator.connection || {};
  var footer = document.querySelector("footer[data-prefetch]");
  if (footer && footer.dataset.prefetch && !connection.saveData &&
      !/(^|-)2g$/.test(connection.effectiveType || "")) {
    post({ type: "save", paths: footer.dataset.prefetch.split(" "), quiet: true });
  }
})();
