// The player's extras: speed (remembered on this phone), 10-second skips, lock-screen
// metadata, and the next stop offered when a narration ends. The page works without it.
(function () {
  "use strict";
  // Remember a language chosen by opening a page in it, also on a static copy of the tour
  // where no server sets the cookie: the next scanned plaque then opens in that language.
  var lang = document.documentElement.dataset.lang;  // the tour code (zh), not the tag (zh-Hans)
  if (window.location.pathname.indexOf("/" + lang + "/") === 0) {
    document.cookie = "lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
  }
  var player = document.getElementById("player");
  if (!player) return;
  var audio = player.querySelector("audio");
  var controls = player.querySelector(".controls");
  var upNext = document.getElementById("up-next");
  var RATE_KEY = "tour-playback-rate";

  function remembered() {
    try {
      return Number(window.localStorage.getItem(RATE_KEY)) || 1;
    } catch (error) {
      return 1;
    }
  }

  function setRate(rate) {
    audio.defaultPlaybackRate = rate;
    audio.playbackRate = rate;
    controls.querySelectorAll("[data-rate]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.rate) === rate));
    });
    try {
      window.localStorage.setItem(RATE_KEY, String(rate));
    } catch (error) {
      // Private browsing may refuse storage; the speed still applies to this page.
    }
  }

  function skip(seconds) {
    var end = isFinite(audio.duration) ? audio.duration : audio.currentTime + seconds;
    audio.currentTime = Math.max(0, Math.min(end, audio.currentTime + seconds));
  }

  controls.hidden = false;
  setRate(remembered());
  controls.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.rate) setRate(Number(button.dataset.rate));
    if (button.dataset.skip) skip(Number(button.dataset.skip));
  });

  audio.addEventListener("play", function () {
    if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
    navigator.mediaSession.metadata = new MediaMetadata({
      title: audio.dataset.title,
      artist: audio.dataset.artist,
    });
    navigator.mediaSession.setActionHandler("seekbackward", function () { skip(-10); });
    navigator.mediaSession.setActionHandler("seekforward", function () { skip(10); });
  });

  audio.addEventListener("ended", function () {
    if (!upNext) return;
    upNext.hidden = false;
    upNext.querySelector("a").focus();
  });
})();
