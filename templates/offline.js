// Working without a signal: register the service worker, save the whole tour with a
// progress bar, prefetch the next stops, place the visitor on the map, and read the
// text with the phone's own voice when a narration cannot be played.
(function () {
  "use strict";
  var lang = document.documentElement.lang;
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

  // --- the map: where am I? --------------------------------------------------------
  var map = document.getElementById("map");
  var locate = document.getElementById("locate");
  if (map && locate && "geolocation" in navigator) {
    var nearest = document.getElementById("nearest");
    var dot = document.getElementById("you");
    var places = map.querySelectorAll("g[data-lat]");
    var metres = function (lat1, lon1, lat2, lon2) {
      var rad = Math.PI / 180;
      var a = Math.pow(Math.sin((lat2 - lat1) * rad / 2), 2) +
        Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin((lon2 - lon1) * rad / 2), 2);
      return 2 * 6371000 * Math.asin(Math.sqrt(a));
    };
    var show = function (position) {
      var lat = position.coords.latitude;
      var lon = position.coords.longitude;
      dot.setAttribute("cx", (lon - Number(map.dataset.west)) * Number(map.dataset.x));
      dot.setAttribute("cy", (Number(map.dataset.north) - lat) * Number(map.dataset.y));
      dot.setAttribute("visibility", "visible");
      var best = null;
      var bestDistance = Infinity;
      Array.prototype.forEach.call(places, function (place) {
        var d = metres(lat, lon, Number(place.dataset.lat), Number(place.dataset.lon));
        if (d < bestDistance) { best = place; bestDistance = d; }
      });
      if (best) {
        nearest.textContent = nearest.dataset.label + ": " + best.dataset.name + ", " +
          Math.round(bestDistance) + " m";
      }
    };
    var fail = function () { nearest.textContent = nearest.dataset.failed; };
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.watchPosition(show, fail, { enableHighAccuracy: true, maximumAge: 10000 });
    });
  }

  // --- offline: the service worker, saving, prefetching ----------------------------
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch(function () {});
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
            if (sound.captions) list.push(sound.captions); // the read-along's timings
            sizes[sound.path] = sound.size;
            totalBytes += sound.size;
          }
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
