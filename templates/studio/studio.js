// The stop form without reloading: checks as the person types, text counters, the
// phone's location, draft narration and live narration progress. The form works
// without this script; it only makes the same answers come sooner.
(function () {
  "use strict";
  var CHECK_DELAY_MS = 600;
  var BEST_ACCURACY_M = 20;
  var POLL_MS = 1000;
  var POLL_LIMIT = 600;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  // --- counters: words, or characters for languages written without spaces -------------
  var CHARACTER_UNIT = /[0-9A-Za-z\u00C0-\u024F'\u2019.-]+|\S/g;

  function textLength(text, unit) {
    if (unit === "characters") return (text.match(CHARACTER_UNIT) || []).length;
    return text.split(/\s+/).filter(Boolean).length;
  }

  function updateCounter(area) {
    var counter = document.getElementById(area.getAttribute("data-counter"));
    if (!counter) return;
    var low = Number(counter.getAttribute("data-low"));
    var high = Number(counter.getAttribute("data-high"));
    var count = textLength(area.value, counter.getAttribute("data-unit"));
    counter.textContent = fill(counter.getAttribute("data-template"), { count: count, low: low, high: high });
    counter.classList.toggle("problem", high > 0 && (count < low || count > high));
  }

  // --- the live check ------------------------------------------------------------------
  var form = document.getElementById("stop-form");
  var summary = document.getElementById("problem-summary");
  var timer = null;
  var inFlight = false;
  var again = false;

  function showProblems(problems) {
    var lists = form.querySelectorAll("ul.field-problems");
    var summaryList = summary.querySelector("ul");
    summaryList.textContent = "";
    lists.forEach(function (list) {
      var name = list.id.slice("problems-".length);
      var messages = problems[name] || [];
      list.textContent = "";
      messages.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
      list.hidden = messages.length === 0;
      var control = document.getElementById(name);
      if (control) {
        if (messages.length) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
    });
    Object.keys(problems).forEach(function (name) {
      problems[name].forEach(function (message) {
        var item = document.createElement("li");
        if (name && document.getElementById(name)) {
          var link = document.createElement("a");
          link.href = "#" + name;
          link.textContent = message;
          item.appendChild(link);
        } else {
          item.textContent = message;
        }
        summaryList.appendChild(item);
      });
    });
    summary.hidden = summaryList.children.length === 0;
  }

  function check() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    fetch(form.getAttribute("data-check"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(new FormData(form)),
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (problems) { if (problems) showProblems(problems); })
      .catch(function () { /* offline or logged out: the server checks again on save */ })
      .then(function () {
        inFlight = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, CHECK_DELAY_MS);
  }

  if (form && summary) {
    form.addEventListener("input", function (event) {
      if (event.target.hasAttribute("data-counter")) updateCounter(event.target);
      schedule();
    });
    form.addEventListener("change", schedule);
  }

  // --- the phone's location ------------------------------------------------------------
  var locate = document.getElementById("use-location");
  var locationStatus = document.getElementById("location-status");

  // The survey date is the day at the site, in the tour's time zone, whatever the
  // phone's own zone is set to: a phone bought abroad may still be on its home time.
  function isoDate(moment) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: locate.getAttribute("data-time-zone") || undefined,
      year: "numeric", month: "2-digit", day: "2-digit",
    }).formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function accept(position) {
    var accuracy = Math.round(position.coords.accuracy);
    if (!(position.coords.accuracy <= BEST_ACCURACY_M)) {
      locationStatus.textContent = fill(locate.getAttribute("data-too-coarse"), { accuracy: accuracy });
      locationStatus.className = "alert";
      return;
    }
    document.getElementById("location.lat").value = position.coords.latitude.toFixed(6);
    document.getElementById("location.lon").value = position.coords.longitude.toFixed(6);
    document.getElementById("location.coord_source").value = "surveyed";
    document.getElementById("location.coord_note").value = fill(locate.getAttribute("data-note"), {
      date: isoDate(new Date(position.timestamp || Date.now())),
      accuracy: accuracy,
    });
    locationStatus.textContent = fill(locate.getAttribute("data-accepted"), { accuracy: accuracy });
    locationStatus.className = "ok";
    if (form) schedule();
  }

  if (locate && locationStatus) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      if (!navigator.geolocation) {
        locationStatus.textContent = locate.getAttribute("data-unsupported");
        locationStatus.className = "alert";
        return;
      }
      locationStatus.textContent = locate.getAttribute("data-waiting");
      locationStatus.className = "";
      navigator.geolocation.getCurrentPosition(accept, function (error) {
        locationStatus.textContent = fill(locate.getAttribute("data-failed"), { error: error.message });
        locationStatus.className = "alert";
      }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 0 });
    });
  }

  // --- progress of a background job ----------------------------------------------------
  function follow(url, show, polls) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (show(status) && polls < POLL_LIMIT) {
          window.setTimeout(function () { follow(url, show, polls + 1); }, POLL_MS);
        }
      })
      .catch(function () {
        if (polls < POLL_LIMIT) window.setTimeout(function () { follow(url, show, polls + 1); }, 3 * POLL_MS);
      });
  }

  var narration = document.getElementById("narration-status");
  if (narration && narration.hasAttribute("data-follow")) {
    var stop = narration.getAttribute("data-stop");
    var line = narration.querySelector("[data-line]");
    follow("/admin/rebuild/status", function (status) {
      var ours = status.scope === stop;
      if (ours && status.running) {
        line.textContent = fill(narration.getAttribute("data-building"), status);
      } else if (ours) {
        var template = narration.getAttribute(status.failed ? "data-failed" : "data-built");
        line.textContent = fill(template, status);
        line.className = status.failed ? "alert" : "";
        return false;
      }
      return true;
    }, 0);
  }

  var listenForm = document.getElementById("listen-form");
  var listenStatus = document.getElementById("listen-status");

  function showListen(status) {
    listenStatus.textContent = "";
    var line = document.createElement("p");
    line.textContent = fill(listenStatus.getAttribute("data-progress"), status) +
      (status.summary ? ": " + status.summary : "");
    listenStatus.appendChild(line);
    if (status.running) return true;
    var result = document.createElement("p");
    if (status.failed) {
      result.className = "alert";
      result.textContent = fill(listenStatus.getAttribute("data-failed"), { error: status.error || status.summary });
    } else {
      result.textContent = listenStatus.getAttribute("data-done") + " ";
      (status.languages || []).forEach(function (lang) {
        var link = document.createElement("a");
        link.href = listenStatus.getAttribute("data-preview") + encodeURIComponent(lang);
        link.textContent = listenStatus.getAttribute("data-play") + " (" + lang + ")";
        result.appendChild(link);
        result.appendChild(document.createTextNode(" "));
      });
    }
    listenStatus.appendChild(result);
    return false;
  }

  if (listenForm && listenStatus) {
    var statusUrl = listenForm.getAttribute("data-status");
    if (listenStatus.hasAttribute("data-follow")) follow(statusUrl, showListen, 0);
    listenForm.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(listenForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(listenForm)),
      })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.error) {
            listenStatus.textContent = "";
            var line = document.createElement("p");
            line.className = "alert";
            line.textContent = answer.error;
            listenStatus.appendChild(line);
            return;
          }
          follow(statusUrl, showListen, 0);
        })
        .catch(function () { listenForm.submit(); });
    });
  }
})();
