// The player's extras: speed (remembered on this phone), 10-second skips, lock-screen
// metadata, the next stop offered when a narration ends, and the read-along: the sentence
// being spoken lit up, and a tap on a sentence playing from it. The page works without it.
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

  // Read along. The captions (one cue per transcript sentence, by number) are fetched when
  // the player or the transcript is first used, not with the page. One sentence is in the
  // tab order: the first, then the lit one, or the one the keyboard moved to; arrow keys
  // move along the sentences and Enter or Space plays from one.
  var element = audio.querySelector("track");
  var spans = document.querySelectorAll(".transcript [data-cue]");
  if (!element || !spans.length) return;
  var track = element.track;
  var transcript = spans[0].closest(".transcript");
  var lit = null;
  var stop = spans[0];
  var waiting = [];
  spans.forEach(function (span) {
    span.tabIndex = span === stop ? 0 : -1;
    // The hint says what Enter does, which is true only while this script runs.
    span.setAttribute("aria-describedby", "read-along-hint");
  });

  function rove(span) {
    stop.tabIndex = -1;
    stop = span;
    span.tabIndex = 0;
  }

  function light(span) {
    if (span === lit) return;
    if (lit) lit.removeAttribute("aria-current");
    lit = span;
    if (!span) return;
    span.setAttribute("aria-current", "true");
    // Never move the tab stop from under a keyboard user reading along.
    if (!transcript.contains(document.activeElement)) rove(span);
  }

  function timed(then) {
    if (track.cues && track.cues.length) return then();
    waiting.push(then);
    if (track.mode === "disabled") track.mode = "hidden";
  }

  element.addEventListener("load", function () {
    spans.forEach(function (span) {
      var cue = track.cues.getCueById(span.dataset.cue);
      if (cue) span.dataset.start = cue.startTime;
    });
    follow();
    waiting.splice(0).forEach(function (then) { then(); });
  });

  // Light the last sentence that has started; also while paused, after a seek.
  function follow() {
    var now = audio.currentTime;
    var found = null;
    spans.forEach(function (span) {
      if (span.dataset.start && Number(span.dataset.start) <= now) found = span;
    });
    if (found) light(found);
  }
  ["timeupdate", "seeked"].forEach(function (type) { audio.addEventListener(type, follow); });
  ["play", "seeking"].forEach(function (type) {
    audio.addEventListener(type, function () { timed(function () {}); });
  });

  function playFrom(span) {
    timed(function () {
      if (!span.dataset.start) return;
      audio.currentTime = Number(span.dataset.start);
      light(span);
      audio.play().catch(function () {});
    });
  }

  transcript.addEventListener("focusin", function (event) {
    var span = event.target.closest("[data-cue]");
    if (span) rove(span);
    timed(function () {});  // the timings, ready before Enter is pressed
  });
  transcript.addEventListener("click", function (event) {
    var span = event.target.closest("[data-cue]");
    if (span) playFrom(span);
  });
  transcript.addEventListener("keydown", function (event) {
    var span = event.target.closest("[data-cue]");
    if (!span) return;
    var index = Array.prototype.indexOf.call(spans, span);
    var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (event.key === "Enter" || event.key === " ") {
      playFrom(span);
    } else if (step && spans[index + step]) {
      spans[index + step].focus();  // focusin moves the tab stop with it
    } else {
      return;
    }
    event.preventDefault();
  });
})();
