// s2q panel: renders the session's event stream (docs/events.md). No framework, no build step.
// Every value from the stream goes in with textContent, never as HTML.
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const now = () => performance.timeOrigin + performance.now();
  const SPEAKER = { interviewer: "Interviewer", candidate: "Candidate", unknown: "Speaker" };
  // A voice told apart but not named yet (docs/events.md): "speaker-2" reads "Speaker 2".
  const speakerName = (s) => SPEAKER[s] || String(s).replace(/^speaker-(\d+)$/, "Speaker $1");
  const state = {
    lastSeq: -1, live: false, ended: false, names: {}, lines: new Map(), byStart: new Map(),
    latest: [], pinned: new Map(), asked: new Set(), dismissed: new Set(), alerts: new Map(), dismissedAlerts: new Set(),
    selected: 0, coverage: null, shed: 0, note: null,
    pointerOver: false, held: false, shown: [],  // the list is not redrawn under the pointer (held until it leaves)
  };
  // Read by the browser test: event leaving the pipeline -> its text on screen, in ms.
  window.s2q = { latencies: [], lines: 0, events: 0 };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clock(s) {
    const n = Math.max(0, Math.floor(Number(s) || 0));
    return String(Math.floor(n / 60)).padStart(2, "0") + ":" + String(n % 60).padStart(2, "0");
  }
  function name(kind, id) {
    const known = (state.names[kind] || {})[id];
    if (known) return known;
    const words = String(id).replace(/[-_]/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }
  // An alert's (or question's) key: a confirmation or a withdrawal names the same one (docs/events.md).
  function alertKey(e) { return e.key || `${e.type}:${e.id}:${Number(e.start || 0).toFixed(3)}`; }
  function setPill(id, text, kind) { const p = $(id); p.textContent = text; p.dataset.state = kind; p.hidden = false; }

  // -- transcript ------------------------------------------------------------------
  function transcript(e, sentAt) {
    let li = state.lines.get(e.utterance_id);
    if (!li) {
      li = el("li", "line");
      const who = el("span", "who");
      who.append(el("span", "speaker"), el("span", "tags"));  // a revision renames the speaker, keeps the tags
      li.append(el("span", "t"), who, el("span", "text"));
      state.lines.set(e.utterance_id, li);
      insertByTime(li, Number(e.start) || 0);
      window.s2q.lines = state.lines.size;
    }
    li.className = `line ${SPEAKER[e.speaker] ? e.speaker : "unknown"}${e.final ? "" : " partial"}`;
    li.dataset.start = Number(e.start || 0).toFixed(3);
    li.dataset.utterance = e.utterance_id;
    li.querySelector(".t").textContent = clock(e.start);
    li.querySelector(".who .speaker").textContent = speakerName(e.speaker);
    li.querySelector(".text").textContent = e.text;
    if (e.final) state.byStart.set(li.dataset.start, li);
    if (e.final && e.latency_ms && e.latency_ms.total != null) {
      $("latency").textContent = `${(e.latency_ms.total / 1000).toFixed(2)} s to text`;
    }
    if (sentAt && e.final) {
      requestAnimationFrame(() => setTimeout(() => window.s2q.latencies.push(now() - sentAt), 0));
    }
    const box = $("transcript");  // follow the conversation unless the reader scrolled back
    if (box.scrollHeight - box.scrollTop - box.clientHeight < 250) box.scrollTop = box.scrollHeight;
  }
  // A partial line whose speech got no final (docs/events.md, `retracted`): it leaves the screen.
  function retract(e) {
    const li = state.lines.get(e.utterance_id);
    if (!li || !li.classList.contains("partial")) return;
    li.remove();
    state.lines.delete(e.utterance_id);
    window.s2q.lines = state.lines.size;
  }
  function insertByTime(li, start) {
    const list = $("transcript");
    li.dataset.start = start.toFixed(3);
    let after = list.lastElementChild;
    while (after && Number(after.dataset.start) > start) after = after.previousElementSibling;
    list.insertBefore(li, after ? after.nextSibling : list.firstChild);
  }
  // Tags sit beside the speaker, keyed like their alert: shown once, removed when withdrawn.
  function tag(e, cls, text) {
    const li = state.lines.get(e.utterance_id) || state.byStart.get(Number(e.start || 0).toFixed(3));
    if (!li || [...li.querySelectorAll(".tag")].some((t) => t.dataset.key === alertKey(e))) return;
    const t = el("span", `tag ${cls}`, text);
    t.dataset.key = alertKey(e);
    li.querySelector(".tags").append(t);
  }
  function untag(key) {
    for (const t of document.querySelectorAll("#transcript .tag")) if (t.dataset.key === key) t.remove();
  }

  // -- suggestions -------------------------------------------------------------------
  function visibleSuggestions() {
    const open = (q) => !state.asked.has(q.id) && !state.dismissed.has(q.id);
    const pinned = [...state.pinned.values()].filter(open);
    const rest = state.latest.filter((q) => open(q) && !state.pinned.has(q.id));
    return pinned.concat(rest).slice(0, Math.max(3, pinned.length));
  }
  // Under the pointer the list never moves: a redraw waits until the pointer leaves the list, so a
  // click lands on the question it was aimed at. A click there greys its question out in place.
  function renderSuggestions() {
    const list = $("suggestions");
    if (state.pointerOver && state.shown.length) {
      state.held = true;
      list.classList.add("held");
      return;
    }
    state.held = false;
    list.classList.remove("held");
    const items = visibleSuggestions();
    state.selected = Math.min(state.selected, Math.max(0, items.length - 1));
    // Rebuild only when what is shown changes: a button must not vanish under the pointer.
    const signature = JSON.stringify([items.map((q) => [q.id, q.reason, state.pinned.has(q.id)]), state.selected, state.live]);
    if (signature === list.dataset.signature) return;
    list.dataset.signature = signature;
    state.shown = items;
    list.replaceChildren();
    if (!items.length) list.append(el("li", "empty", state.latest.length ? "Nothing left to suggest." : "Suggestions appear after the first answer."));
    items.forEach((q, i) => {
      const li = el("li", "suggestion");
      li.dataset.id = q.id;
      li.classList.toggle("pinned", state.pinned.has(q.id));
      li.classList.toggle("selected", i === state.selected);
      li.append(el("div", "q", q.text), el("div", "why", q.reason));
      const row = el("div", "actions");
      for (const [action, label] of [["asked", "Asked ✓"], ["pin", state.pinned.has(q.id) ? "Unpin" : "Pin"], ["dismiss", "Dismiss"]]) {
        const b = el("button", action === "asked" ? "primary" : "", label);
        b.dataset.action = action;
        b.disabled = !state.live;
        b.addEventListener("click", () => {
          if (state.held && action !== "pin") { li.classList.add("done"); li.querySelectorAll("button").forEach((x) => { x.disabled = true; }); }
          act(action, q.id);
        });
        row.append(b);
      }
      li.append(row);
      li.addEventListener("click", (ev) => { if (ev.target === li || !ev.target.closest("button")) { state.selected = i; markSelected(); } });
      list.append(li);
    });
  }

  function markSelected() {  // the selection moves without redrawing the list
    [...$("suggestions").querySelectorAll(".suggestion")].forEach((li, i) => li.classList.toggle("selected", i === state.selected));
  }
  function renderNote() {
    const p = $("time-note");
    p.hidden = !state.note;
    p.textContent = state.note || "";
  }

  // -- alerts ------------------------------------------------------------------------
  function renderAlerts() {
    // Compliance alerts above "Ask next" (prominent); red flags below it, the latest two in full.
    const open = [...state.alerts.values()].filter((a) => !state.dismissedAlerts.has(alertKey(a)))
      .sort((a, b) => Number(b.start) - Number(a.start));
    renderAlertBox($("alerts"), open.filter((a) => a.type === "compliance"), 99);
    renderAlertBox($("flags"), open.filter((a) => a.type !== "compliance"), 2);
  }
  function renderAlertBox(box, alerts, expanded) {
    const signature = alerts.map((a) => alertKey(a) + (a.provisional ? "?" : "")).join("|");
    if (signature === box.dataset.signature) return;
    box.dataset.signature = signature;
    box.replaceChildren();
    alerts.forEach((a, i) => {
      const div = el("div", `alert ${a.type}${i >= expanded ? " compact" : ""}${a.provisional ? " provisional" : ""}`);  // older ones shrink to a line
      div.dataset.key = alertKey(a);
      div.setAttribute("role", a.type === "compliance" ? "alert" : "status");
      div.append(el("div", "kind", a.type === "compliance" ? `Do not ask · ${clock(a.start)}${a.provisional ? " · still being asked" : ""}` : `Red flag · ${clock(a.start)}`));
      div.append(el("div", "name", a.name || a.id), el("blockquote", "quote", `“${a.quote || ""}”`));
      if (a.type === "compliance") {
        div.append(el("div", "alternative", a.alternative ? `Ask instead: ${a.alternative}` : "Leave this topic out."));
      }
      const b = el("button", "dismiss", "Dismiss");
      b.dataset.action = "dismiss_alert";
      b.addEventListener("click", () => act("dismiss_alert", alertKey(a)));
      div.append(b);
      box.append(div);
    });
  }

  // -- coverage (CSS bars) --------------------------------------------------------------
  function bar(label, n, total, cls, current) {
    const row = el("div", `row${current ? " current" : ""}`);
    row.title = label;
    const track = el("div", `bar ${cls}${n ? "" : " none"}`);
    const fill = el("span");
    fill.style.width = `${Math.min(100, (100 * n) / Math.max(total, 1))}%`;  // CSSOM: allowed by the CSP
    track.append(fill);
    row.append(el("span", "label", label), track, el("span", "n", cls === "comp" ? n : `${n}/${total}`));
    return row;
  }
  function renderCoverage() {
    const c = state.coverage;
    if (!c) return;
    const box = $("coverage");
    box.replaceChildren(el("h3", "", "Stages"));
    for (const [id, s] of Object.entries(c.stages || {})) box.append(bar(name("stages", id), s.asked || 0, s.total || 0, "stage", id === c.current_stage));
    box.append(el("h3", "", "Competencies"));
    const counts = Object.values(c.competencies || {});
    const top = Math.max(3, ...counts);
    for (const [id, n] of Object.entries(c.competencies || {})) box.append(bar(name("competencies", id), n, top, "comp", false));
    $("stage").textContent = `now: ${name("stages", c.current_stage)}`;
  }

  // -- the stream ---------------------------------------------------------------------
  function action(e) {
    const target = e.target;
    if (e.action === "asked") state.asked.add(target);
    else if (e.action === "dismiss") state.dismissed.add(target);
    else if (e.action === "pin") {
      if (state.pinned.has(target)) state.pinned.delete(target);
      else { const q = state.latest.find((x) => x.id === target) || { id: target, text: e.text || target, reason: "pinned" }; state.pinned.set(target, q); }
    } else if (e.action === "dismiss_alert") state.dismissedAlerts.add(target);
  }
  function apply(e, sentAt) {
    window.s2q.events += 1;
    switch (e.type) {
      case "transcript": transcript(e, sentAt); break;
      case "suggestion": state.latest = (e.items || []).filter((q) => q && q.id); state.note = e.note || null; break;
      case "coverage": state.coverage = e; break;
      case "red_flag": case "compliance":  // a confirmation replaces its provisional alert in place
        state.alerts.set(alertKey(e), e);
        tag(e, e.type === "compliance" ? "compliance" : "flag", e.type === "compliance" ? "do not ask" : "red flag");
        break;
      case "question_asked": tag(e, "", "bank question"); break;
      case "withdrawn": state.alerts.delete(e.key); untag(e.key); break;
      case "retracted": retract(e); break;
      case "interviewer_action": action(e); break;
      case "status":
        if (e.state === "ready") setPill("state", state.live ? "listening" : "recorded", state.live ? "live" : "stopped");
        if (e.state === "shedding") { state.shed += 1; setPill("pace", `shedding (${state.shed})`, "shedding"); }
        if (e.state === "cut") setPill("state", "cut short", "stopped");
        break;
    }
  }
  let pending = false;
  function renderSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; renderSuggestions(); renderNote(); renderAlerts(); renderCoverage(); });
  }
  function connect() {
    const source = new EventSource(`events?token=${encodeURIComponent(token)}&from=${state.lastSeq + 1}`);
    source.onopen = () => { if (!state.ended) setPill("state", state.live ? "listening" : "loading", state.live ? "live" : "stopped"); };
    source.onmessage = (m) => {
      const item = JSON.parse(m.data);
      if (item.seq <= state.lastSeq) return;  // never twice, whatever the reconnection did
      state.lastSeq = item.seq;
      apply(item.event, item.sent_at);
      renderSoon();
    };
    source.addEventListener("end", () => {
      state.ended = true;
      source.close();
      setPill("state", "stopped", "stopped");
      renderSuggestions(); renderAlerts(); renderCoverage();  // all shown before the page says it ended
      document.body.dataset.ended = "true";
    });
    source.onerror = () => {
      if (state.ended) return;
      setPill("state", "reconnecting…", "reconnecting");
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
    };
  }
  async function act(kind, target) {
    const response = await fetch(`action?token=${encodeURIComponent(token)}`, {
      method: "POST", headers: { "content-type": "application/json", "x-s2q-token": token },
      body: JSON.stringify({ action: kind, target }),
    });
    if (!response.ok) return;
    if (state.ended) { action({ action: kind, target }); renderSoon(); }  // no live echo after the end
  }

  $("suggestions").addEventListener("pointerenter", () => { state.pointerOver = true; });
  $("suggestions").addEventListener("pointerleave", () => { state.pointerOver = false; if (state.held) renderSuggestions(); });

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const items = state.shown;  // what is on screen, held or not
    if (!items.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      state.selected = (state.selected + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      markSelected();
      ev.preventDefault();
    } else if (ev.key === "Enter" && !(document.activeElement && document.activeElement.closest("button, a"))) {
      if (state.live) act("asked", items[state.selected].id);
      ev.preventDefault();
    }
  });

  fetch(`info?token=${encodeURIComponent(token)}`).then((r) => r.json()).then((info) => {
    state.live = info.live;
    document.body.dataset.live = String(info.live);
    state.names = info.names || {};
    $("title").textContent = info.title;
    document.title = `s2q — ${info.title}`;
    if (info.report) { const a = $("report-link"); a.href = `report?token=${encodeURIComponent(token)}`; a.hidden = false; }
    setPill("state", info.live ? "loading models…" : "recorded", info.live ? "loading" : "stopped");
    if (info.live) setPill("pace", "keeping up", "ok");
    renderSuggestions();
    connect();
  });
})();
