// The graph inspector's page script: state details on click, polling while the execution
// runs, and the Redrive button. Everything the server sent is text: it goes into the page
// through textContent only, never as markup.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var dataElement = document.getElementById("inspector-data");
  if (!dataElement) return;
  var data = JSON.parse(dataElement.textContent);
  var selected = null;
  var timer = null;
  // After a redrive, poll for a while even if the first answer still reads closed.
  var followUntil = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pretty(text) {
    if (text === undefined || text === null) return "\u2014";
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (err) {
      return String(text);
    }
  }

  function when(value) {
    if (value === undefined || value === null) return "\u2014";
    var date = new Date(Number(value) * 1000);
    return isNaN(date.getTime()) ? String(value) : date.toISOString().replace("T", " ").replace("Z", " UTC");
  }

  function field(parent, label, text, asCode) {
    parent.appendChild(el("h3", null, label));
    parent.appendChild(el(asCode ? "pre" : "p", null, text));
  }

  function nodes() {
    return document.querySelectorAll("[data-state]");
  }

  function nodeNamed(name) {
    var all = nodes();
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-state") === name) return all[i];
    }
    return null;
  }

  function attemptsTable(attempts) {
    var table = el("table", "attempts");
    var head = el("tr");
    ["#", "Outcome", "Started", "Ended", "Error"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    attempts.forEach(function (a) {
      var row = el("tr", "st-" + (a.status || ""));
      row.appendChild(el("td", null, a.number));
      row.appendChild(el("td", null, a.status));
      row.appendChild(el("td", null, when(a.started)));
      row.appendChild(el("td", null, when(a.ended)));
      row.appendChild(el("td", null, [a.error, a.cause].filter(Boolean).join(": ")));
      table.appendChild(row);
    });
    return table;
  }

  function showVisit(parent, visit, index, total) {
    var box = el("div", "visit");
    var title = "Visit " + (index + 1);
    if (visit.iteration !== undefined) title = "Iteration " + visit.iteration;
    if (visit.step) title += " \u2014 step " + visit.step;
    box.appendChild(el("h3", null, title + ": " + visit.status));
    if (visit.note) box.appendChild(el("p", "note", visit.note));
    box.appendChild(el("p", "note", "entered " + when(visit.entered) + ", left " + when(visit.exited)));
    var attempts = visit.attempt_count || (visit.attempts ? visit.attempts.length : 0);
    box.appendChild(el("p", "retries", "Attempts: " + attempts));
    if (visit.attempts && visit.attempts.length) box.appendChild(attemptsTable(visit.attempts));
    field(box, "Input", pretty(visit.input), true);
    field(box, "Output", pretty(visit.output), true);
    if (visit.error) field(box, "Error", visit.error, true);
    if (visit.cause) field(box, "Cause", pretty(visit.cause), true);
    parent.appendChild(box);
  }

  function showState(name) {
    var panel = document.getElementById("details");
    if (!panel || name === null) return;
    selected = name;
    nodes().forEach(function (n) { n.classList.toggle("selected", n.getAttribute("data-state") === name); });
    panel.textContent = "";
    panel.appendChild(el("h2", null, name));
    if (data.page === "machine") {
      var info = data.states[name] || {};
      panel.appendChild(el("p", "counts", info.type));
      field(panel, "Definition", info.definition, true);
      return;
    }
    var state = (data.progress.states || {})[name] || { status: "not-reached" };
    var type = (data.types || {})[name] || "";
    panel.appendChild(el("p", "counts", type + " \u00b7 " + state.status));
    var counts = state.counts || {};
    var parts = Object.keys(counts).map(function (k) { return counts[k] + " " + k; });
    if (state.visit_count > 1) panel.appendChild(el("p", "counts", state.visit_count + " visits: " + parts.join(", ")));
    var iterations = state.iterations || {};
    if (Object.keys(iterations).length) {
      var it = Object.keys(iterations).map(function (k) { return k + " " + iterations[k]; });
      panel.appendChild(el("p", "counts", "Iterations: " + it.join(", ")));
    }
    var visits = state.visits || [];
    if (!visits.length) {
      panel.appendChild(el("p", "hint", "This execution has not reached this state."));
      return;
    }
    if (state.visit_count > visits.length) {
      panel.appendChild(el("p", "hint", "Showing " + visits.length + " of " + state.visit_count + " visits, failed ones first."));
    }
    visits.forEach(function (visit, i) { showVisit(panel, visit, i, visits.length); });
  }

  function stepRows(visits) {
    var body = document.querySelector("#unmapped tbody");
    var section = document.getElementById("unmapped-section");
    if (!body || !section) return;
    body.textContent = "";
    visits.forEach(function (v) {
      var row = el("tr", "st-" + v.status);
      row.appendChild(el("td", null, v.step || "?"));
      row.appendChild(el("td", null, v.status));
      row.appendChild(el("td", null, v.attempt_count || 0));
      row.appendChild(el("td", null, [v.error, v.cause].filter(Boolean).join(" ")));
      body.appendChild(row);
    });
    section.hidden = visits.length === 0;
  }

  function apply(progress) {
    data.progress = progress;
    var states = progress.states || {};
    nodes().forEach(function (node) {
      var name = node.getAttribute("data-state");
      var status = (states[name] || {}).status || "not-reached";
      Array.prototype.slice.call(node.classList).forEach(function (c) {
        if (c.indexOf("st-") === 0) node.classList.remove(c);
      });
      node.classList.add("st-" + status);
      node.setAttribute("aria-label", name + ": " + status);
      var badge = node.querySelector(".badge");
      if (badge) badge.textContent = (states[name] || {}).badge || "";
    });
    var badge = document.getElementById("status");
    if (badge) {
      badge.textContent = progress.status;
      badge.className = "status s-" + progress.status;
    }
    var execution = progress.execution || {};
    var error = [execution.error, execution.cause].filter(Boolean).join(": ");
    var errorBox = document.getElementById("execution-error");
    if (errorBox) { errorBox.textContent = error; errorBox.hidden = !error; }
    var input = document.getElementById("execution-input");
    if (input) input.textContent = pretty(execution.input);
    var output = document.getElementById("execution-output");
    if (output) output.textContent = pretty(execution.output);
    var redrive = document.getElementById("redrive");
    if (redrive) { redrive.hidden = !progress.redrivable; redrive.disabled = false; }
    var live = document.getElementById("live");
    if (live) live.hidden = !!progress.closed;
    stepRows(progress.unmapped || []);
    if (selected !== null) showState(selected);
  }

  function poll() {
    timer = null;
    fetch(data.progress_url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (progress) {
        apply(progress);
        if (!progress.closed || Date.now() < followUntil) schedule();
      })
      .catch(function () { schedule(); });
  }

  function schedule() {
    if (timer === null) timer = window.setTimeout(poll, POLL_MS);
  }

  function say(text, ok) {
    var message = document.getElementById("redrive-message");
    if (!message) return;
    message.textContent = text;
    message.className = ok ? "ok" : "bad";
  }

  function redrive() {
    var button = document.getElementById("redrive");
    button.disabled = true;
    fetch(data.redrive_url, { method: "POST", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return { status: response.status, body: body };
        });
      })
      .then(function (answer) {
        var body = answer.body || {};
        if (answer.status === 202) {
          say("Redrive accepted: run " + (body.run_id || "") + " started. Refreshing\u2026", true);
          button.hidden = true;
          followUntil = Date.now() + 5000;
          schedule();
          return;
        }
        var detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || body);
        say("Redrive refused (HTTP " + answer.status + "): " + detail, false);
        button.disabled = false;
      })
      .catch(function (err) {
        say("Redrive failed: " + err.message, false);
        button.disabled = false;
      });
  }

  nodes().forEach(function (node) {
    var name = node.getAttribute("data-state");
    node.addEventListener("click", function (event) {
      event.stopPropagation();
      showState(name);
    });
    node.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        showState(name);
      }
    });
  });
  var button = document.getElementById("redrive");
  if (button) button.addEventListener("click", redrive);
  if (data.page === "execution" && !data.progress.closed) schedule();
})();
