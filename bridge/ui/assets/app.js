// The gewe-bridge console: one module, no dependencies. Every request goes
// to the bridge that served the page.

const $ = (id) => document.getElementById(id);
const pages = ["playground", "history", "senders", "commands"];
let role = "";
let config = null; // GET /api/v1/playground

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

// api calls the bridge with the session cookie; the X-Console header is
// what a cross-site form cannot send.
async function api(path, opts = {}) {
  const init = { method: opts.method || "GET", credentials: "same-origin", headers: { "X-Console": "1" } };
  if (opts.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.status === 401) { showLogin(); }
  if (!res.ok) throw new HTTPError(res.status, (data && data.error) || res.statusText);
  return data;
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

const fmtTime = (s) => (!s || s.startsWith("0001")) ? "" : new Date(s).toLocaleString();
const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// ---- login and pages

function showLogin() {
  role = "";
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("whoami").textContent = "";
  for (const p of pages) $(p).hidden = true;
  $("login").hidden = false;
  $("token").focus();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  try {
    const res = await fetch("/ui/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Console": "1" },
      body: JSON.stringify({ token: $("token").value }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || res.statusText);
    $("token").value = "";
    await start();
  } catch (err) {
    $("login-error").textContent = "Login failed: " + err.message;
  }
});

$("logout").addEventListener("click", async () => {
  await fetch("/ui/logout", { method: "POST", credentials: "same-origin", headers: { "X-Console": "1" } });
  showLogin();
});

async function start() {
  let s;
  try { s = await api("/api/v1/session"); } catch { showLogin(); return; }
  role = s.role;
  $("login").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = false;
  $("whoami").textContent = "Logged in (" + role + ")";
  // The playground shows the config's values and payloads: the admin's.
  const admin = role === "admin";
  $("nav-playground").hidden = !admin;
  config = admin ? await api("/api/v1/playground") : { sources: [], rules: [], templates: {}, template_names: [], contacts: {} };
  if (admin) fillPlayground();
  else $("h-source").replaceChildren(el("option", { value: "", text: "any" }));
  route();
}

function route() {
  if (!role) return;
  const first = role === "admin" ? "playground" : "history";
  let page = pages.includes(location.hash.slice(1)) ? location.hash.slice(1) : first;
  if (page === "playground" && role !== "admin") page = "history";
  for (const p of pages) {
    $(p).hidden = p !== page;
    const link = $("nav-" + p);
    if (p === page) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (page === "history") loadHistory(0);
  if (page === "senders") loadSenders();
  if (page === "commands") loadCommands();
  if (page === "playground") loadTraces();
}
window.addEventListener("hashchange", route);

// ---- playground

const ruleFields = { name: "r-name", when: "r-when", to_expr: "r-to-expr", at_expr: "r-at-expr", template: "r-template" };

function fillPlayground() {
  const src = $("pg-source");
  src.replaceChildren(...config.sources.map((s) => el("option", { value: s.name, text: `${s.name} (${s.type})` })));
  $("h-source").replaceChildren(el("option", { value: "", text: "any" }),
    ...config.sources.map((s) => el("option", { value: s.name, text: s.name })));
  $("pg-rule").replaceChildren(...config.rules.map((r, i) => el("option", { value: String(i), text: r.name })),
    el("option", { value: "-1", text: "(a new rule, first)" }));
  $("template-names").replaceChildren(...config.template_names.map((n) => el("option", { value: n })));
  const names = Object.keys(config.templates).sort();
  $("pg-template").replaceChildren(el("option", { value: "", text: "(none)" }),
    ...names.map((n) => el("option", { value: n, text: n })));
  loadRule();
  if (!$("pg-payload").value) setSourceDefaults();
}

function setSourceDefaults() {
  const s = config.sources.find((x) => x.name === $("pg-source").value);
  const hdr = { github: "x-github-event: push", gitea: "x-gitea-event: push", gitlab: "x-gitlab-event: Push Hook", generic: "x-event: deploy" };
  $("pg-headers").value = "content-type: application/json" + (s && hdr[s.type] ? "\n" + hdr[s.type] : "");
}

function loadRule() {
  const i = Number($("pg-rule").value);
  const r = config.rules[i] || { name: "new-rule" };
  for (const [k, id] of Object.entries(ruleFields)) $(id).value = r[k] || "";
  $("r-to").value = (r.to || []).join(", ");
  $("r-at").value = (r.at || []).join(", ");
  $("r-continue").checked = !!r.continue;
  $("r-split").checked = !!r.split_alerts;
  $("r-continue").dataset.orig = "";
  edited.rule = i < 0;
  const t = r.template && config.templates[r.template] ? r.template : $("pg-template").value;
  $("pg-template").value = t || "";
  loadTemplate();
}

function loadTemplate() {
  const name = $("pg-template").value;
  const t = config.templates[name] || {};
  const link = !!t.link;
  $("t-link-box").hidden = !link;
  $("t-text-box").hidden = link;
  $("t-text").value = t.text || t.appmsg || "";
  const l = t.link || {};
  $("t-title").value = l.title || ""; $("t-des").value = l.des || "";
  $("t-url").value = l.url || ""; $("t-thumb").value = l.thumb_url || "";
  edited.template = false;
}

const edited = { rule: false, template: false };

function ruleForm() {
  const r = {};
  for (const [k, id] of Object.entries(ruleFields)) if ($(id).value.trim()) r[k] = $(id).value;
  r.name = $("r-name").value;
  const to = list($("r-to").value), at = list($("r-at").value);
  if (to.length) r.to = to;
  if (at.length) r.at = at;
  if ($("r-continue").checked) r.continue = true;
  if ($("r-split").checked) r.split_alerts = true;
  const orig = config.rules[Number($("pg-rule").value)];
  if (orig && orig.allow_any_recipient) r.allow_any_recipient = true;
  if (orig && orig.template_expr) r.template_expr = orig.template_expr;
  return r;
}

function templateForm() {
  const name = $("pg-template").value;
  const t = config.templates[name] || {};
  if (t.link) return { link: { title: $("t-title").value, des: $("t-des").value, url: $("t-url").value, thumb_url: $("t-thumb").value } };
  if (t.appmsg) return { appmsg: $("t-text").value };
  return { text: $("t-text").value };
}

function headers() {
  const h = {};
  for (const line of $("pg-headers").value.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) h[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return h;
}

let seq = 0;
async function preview() {
  if (!role || !$("pg-payload").value.trim()) return;
  const mine = ++seq;
  const req = { source: $("pg-source").value, headers: headers(), payload: $("pg-payload").value, rule_index: Number($("pg-rule").value) };
  // The rule is always sent, so its YAML is there to copy; the template
  // only once edited (a built-in default stays the built-in).
  req.rule = ruleForm();
  if (edited.template && $("pg-template").value) { req.template_name = $("pg-template").value; req.template = templateForm(); }
  $("pg-busy").textContent = "updating…";
  try {
    const out = await api("/api/v1/playground", { method: "POST", body: req });
    if (mine === seq) showPreview(out);
  } catch (err) {
    if (mine === seq) { $("problems").replaceChildren(el("div", { class: "problem", text: err.message })); }
  } finally {
    if (mine === seq) $("pg-busy").textContent = "";
  }
}
const previewSoon = debounce(preview, 250);

function showPreview(out) {
  $("rule-yaml").value = out.rule_yaml || "";
  $("template-yaml").value = out.template_yaml || "";
  const probs = out.problems.map((p) => el("div", { class: "problem" + (p.warning ? " warning" : "") },
    el("strong", { text: (p.warning ? "warning: " : "error: ") + p.path + (p.place ? " (" + p.place + ")" : "") }),
    el("pre", { text: p.message })));
  if (out.refused) probs.push(el("div", { class: "problem", text: "The source's adapter refuses this payload: " + out.refused }));
  if (out.error) probs.push(el("div", { class: "problem", text: out.error }));
  $("problems").replaceChildren(...probs);
  const rows = ((out.trace && out.trace.rules) || []).map((r) => {
    const who = (ids) => (ids || []).map((id) => out.names[id] ? `${out.names[id]} (${id})` : id).join(", ");
    const details = [];
    if (r.to && r.to.length) details.push(el("div", { text: "to " + who(r.to) }));
    if (r.at && r.at.length) details.push(el("div", { text: "at " + who(r.at) }));
    if (r.template) details.push(el("div", { text: "template " + r.template }));
    if (r.error) details.push(el("pre", { class: "error", text: r.stage + ": " + r.error }));
    for (const n of r.notes || []) details.push(el("div", { class: "hint", text: n }));
    return el("tr", {}, el("th", { scope: "row", text: r.name }),
      el("td", { class: "v-" + r.verdict.replace(" ", "-"), text: r.verdict }), el("td", {}, ...details));
  });
  $("verdicts").tBodies[0].replaceChildren(...rows);
  const chat = $("chat");
  if (!out.trace) { chat.replaceChildren(el("p", { class: "hint", text: "No preview: fix the problems above." })); return; }
  if (!out.messages.length) { chat.replaceChildren(el("p", { class: "hint", text: "No message: nothing would be sent." })); return; }
  chat.replaceChildren(...out.messages.flatMap((m) => [
    el("div", { class: "chat-to", text: `to ${m.to_name ? m.to_name + " (" + m.to + ")" : m.to} · rule ${m.rule}` }),
    bubble(m),
  ]));
}

// bubble draws one message: its text with the mentions marked, or a card.
function bubble(m) {
  if (m.card) {
    let host = "";
    try { host = m.card.thumb_url ? new URL(m.card.thumb_url).host : ""; } catch { host = ""; }
    // The thumbnail is not loaded: the console makes no request elsewhere.
    return el("div", { class: "card", role: "group", "aria-label": "Link card" },
      el("div", { class: "card-title", text: m.card.title }),
      el("div", { class: "card-des", text: m.card.des }),
      el("div", { class: "card-thumb", title: m.card.thumb_url || "no thumbnail", text: host ? "thumbnail\n" + host : "no thumbnail" }),
      el("div", { class: "card-url", text: m.card.url }));
  }
  if (m.xml) return el("pre", { class: "bubble", text: m.xml });
  const b = el("div", { class: "bubble", role: "group", "aria-label": "Message" });
  const names = (m.at || []).map((a) => a.name).filter(Boolean).map((n) => "@" + n);
  let text = m.text || "";
  while (text) {
    let at = -1, name = "";
    for (const n of names) {
      const i = text.indexOf(n);
      if (i >= 0 && (at < 0 || i < at)) { at = i; name = n; }
    }
    if (at < 0) { b.append(text); break; }
    b.append(text.slice(0, at), el("span", { class: "mention", text: name }));
    text = text.slice(at + name.length);
  }
  if (m.parts > 1) b.append(el("span", { class: "part", text: `part ${m.part} of ${m.parts}` }));
  return b;
}

async function loadTraces() {
  let t;
  try { t = await api("/api/v1/traces"); } catch { return; }
  const opts = t.traces.filter((x) => x.has_request).map((x) =>
    el("option", { value: String(x.seq), text: `${fmtTime(x.at)} ${x.source} ${x.event}${x.action ? "/" + x.action : ""} → ${x.outcome}` }));
  const keep = $("pg-trace").value;
  $("pg-trace").replaceChildren(el("option", { value: "", text: "(paste a payload below)" }), ...opts);
  $("pg-trace").value = keep;
}

$("pg-trace").addEventListener("change", async () => {
  const v = $("pg-trace").value;
  if (!v) return;
  const r = await api(`/api/v1/traces/${v}/request`);
  $("pg-source").value = r.source;
  $("pg-headers").value = Object.entries(r.headers).map(([k, x]) => `${k}: ${x}`).join("\n");
  let p = r.payload;
  try { p = JSON.stringify(JSON.parse(p), null, 2); } catch { /* not JSON: as sent */ }
  $("pg-payload").value = p;
  preview();
});
$("pg-source").addEventListener("change", () => { setSourceDefaults(); preview(); });
$("pg-rule").addEventListener("change", () => { loadRule(); preview(); });
$("pg-template").addEventListener("change", () => { loadTemplate(); preview(); });
for (const id of ["pg-headers", "pg-payload", "r-name", "r-when", "r-to", "r-to-expr", "r-at", "r-at-expr", "r-template", "r-continue", "r-split"]) {
  $(id).addEventListener("input", () => { edited.rule = true; previewSoon(); });
}
for (const id of ["t-text", "t-title", "t-des", "t-url", "t-thumb"]) {
  $(id).addEventListener("input", () => { edited.template = true; previewSoon(); });
}
$("reset").addEventListener("click", () => { loadRule(); preview(); });
$("copy-rule").addEventListener("click", async () => {
  await preview();
  const y = $("rule-yaml").value;
  try {
    await navigator.clipboard.writeText(y);
    $("copy-status").textContent = "Copied the rule as YAML.";
  } catch {
    $("rule-yaml").select();
    $("copy-status").textContent = document.execCommand && document.execCommand("copy") ? "Copied the rule as YAML." : "Select the YAML below and copy it.";
  }
});

// ---- history

let before = 0;
const pagesBack = [];

function historyQuery(b) {
  const q = new URLSearchParams({ limit: "25" });
  const add = (k, v) => { if (v) q.set(k, v); };
  add("state", $("h-state").value); add("to", $("h-to").value.trim());
  add("rule", $("h-rule").value.trim()); add("source", $("h-source").value);
  for (const k of ["since", "until"]) {
    const v = $("h-" + k).value;
    if (v) q.set(k, new Date(v).toISOString().replace(/\.\d+Z$/, "Z"));
  }
  if (b) q.set("before", String(b));
  return q;
}

async function loadHistory(b) {
  $("h-error").textContent = "";
  let out;
  try { out = await api("/api/v1/messages?" + historyQuery(b)); } catch (err) { $("h-error").textContent = err.message; return; }
  before = b;
  const names = {};
  for (const [n, c] of Object.entries(config.contacts)) names[c.wxid] = n;
  $("h-table").tBodies[0].replaceChildren(...out.messages.map((m) => el("tr", {},
    el("td", { text: String(m.id) }),
    el("td", { class: "state-" + m.state, text: m.state }),
    el("td", { text: fmtTime(m.created_at) }),
    el("td", { text: m.source }),
    el("td", { text: m.message.rule }),
    el("td", { text: names[m.message.to] ? `${names[m.message.to]} (${m.message.to})` : m.message.to }),
    el("td", { class: "text", text: m.message.text || "[card]" }),
    el("td", { text: String(m.attempts) }),
    el("td", {}, el("button", { type: "button", "aria-label": `Details of message ${m.id}`, onclick: () => showMessage(m.id), text: "Details" })),
  )));
  if (!out.messages.length) {
    $("h-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: "9", class: "hint", text: "No message matches." })));
  }
  $("h-older").disabled = !out.next_before;
  $("h-older").dataset.next = out.next_before || "";
}

$("h-form").addEventListener("submit", (e) => { e.preventDefault(); loadHistory(0); });
$("h-newest").addEventListener("click", () => loadHistory(0));
$("h-older").addEventListener("click", () => loadHistory(Number($("h-older").dataset.next)));

async function showMessage(id) {
  const { message: m, attempts } = await api(`/api/v1/messages/${id}`);
  $("detail").hidden = false;
  $("d-title").textContent = `Message ${m.id}`;
  const f = [["State", m.state], ["Source", m.source], ["Event", m.event_id], ["Rule", m.message.rule], ["To", m.message.to],
    ["Account", m.account], ["Accepted", fmtTime(m.created_at)], ["Next try", m.state === "pending" ? fmtTime(m.next_at) : ""],
    ["Sent", fmtTime(m.sent_at)], ["Last error", m.last_error || ""]];
  $("d-fields").replaceChildren(...f.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const b = { to: m.message.to, text: m.message.text, xml: m.message.xml, at: (m.message.at || []).map((w) => ({ wxid: w })), parts: 1 };
  $("d-bubble").replaceChildren(bubble(b));
  $("d-attempts").tBodies[0].replaceChildren(...attempts.map((a) => el("tr", {}, el("td", { text: fmtTime(a.at) }), el("td", {}, el("pre", { text: a.error })))));
  if (!attempts.length) $("d-attempts").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: "2", class: "hint", text: "No failed attempt." })));
  const retry = $("d-retry");
  retry.hidden = m.state !== "dead" || role !== "admin";
  retry.onclick = async () => {
    try {
      await api(`/api/v1/messages/${m.id}/retry`, { method: "POST" });
      await showMessage(m.id);
      $("d-status").textContent = `Message ${m.id} is pending again.`;
      loadHistory(before);
    } catch (err) { $("d-status").textContent = "Retry failed: " + err.message; }
  };
  $("d-status").textContent = "";
  $("d-title").scrollIntoView({ block: "nearest" });
}

// ---- senders

async function loadSenders() {
  const s = await api("/api/v1/status");
  const info = [["Version", s.version], ["Config", s.config_file], ["Rules", String(s.rules)], ["Dry run", s.dry_run ? "yes" : "no"],
    ["Last reload", s.last_reload ? `${fmtTime(s.last_reload.at)} ${s.last_reload.ok ? "ok" : "failed: " + s.last_reload.error}` : ""]];
  $("s-info").replaceChildren(...info.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  const queues = {};
  for (const q of s.queue || []) queues[q.account] = q;
  const accounts = [s.sender.account, ...Object.keys(queues).filter((a) => a !== s.sender.account)];
  $("s-table").tBodies[0].replaceChildren(...accounts.map((a) => {
    const mine = a === s.sender.account;
    const q = queues[a] || { pending: 0 };
    const st = mine ? (s.sender.paused ? "paused" : s.sender.dry_run ? "dry run" : "sending") : "no sender (another account)";
    const why = mine && s.sender.paused ? s.sender.pause_reason + (s.sender.pause_error ? ": " + s.sender.pause_error : "") : "";
    const pace = mine && s.pace ? `${s.pace.sent_last_minute} of ${s.pace.per_minute || "∞"}` : "";
    return el("tr", {}, el("th", { scope: "row", text: a }), el("td", { text: st }), el("td", { text: why }),
      el("td", { text: mine ? fmtTime(s.sender.paused_until) : "" }), el("td", { text: String(q.pending) }),
      el("td", { text: fmtTime(q.oldest_pending) }), el("td", { text: pace }));
  }));
}
$("s-refresh").addEventListener("click", loadSenders);

start();

// ---- chat-ops commands

async function loadCommands() {
  $("c-error").textContent = "";
  let out;
  try { out = await api("/api/v1/commands?limit=100"); } catch (err) { $("c-error").textContent = err.message; return; }
  $("c-off").hidden = out.available !== false;
  $("c-table").tBodies[0].replaceChildren(...out.commands.map((c) => {
    const o = c.outcome || {};
    return el("tr", {}, el("td", { text: fmtTime(c.received_at) }), el("td", { text: o.contact || o.author || "" }),
      el("td", { text: o.chat || "" }), el("td", { text: o.command || "" }), el("td", { text: o.text || "" }),
      el("td", { class: "result-" + (o.result || c.state), text: o.result || c.state }), el("td", { text: o.detail || "" }),
      el("td", { text: o.reply || "" }));
  }));
}
$("c-refresh").addEventListener("click", loadCommands);

