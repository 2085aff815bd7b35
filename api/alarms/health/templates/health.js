// The weekly alarm-health report: everything shown is read through GET /alarms/health and its lists with the
// signed-in user's token (session.js). zh-TW first, English second; times in Asia/Taipei.
"use strict";

const TZ = "Asia/Taipei";
const timeFmt = new Intl.DateTimeFormat("zh-TW", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const clockFmt = new Intl.DateTimeFormat("zh-TW", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
const dayFmt = new Intl.DateTimeFormat("zh-TW", { timeZone: TZ, month: "numeric", day: "numeric", weekday: "short" });
const dateFmt = new Intl.DateTimeFormat("sv-SE", { timeZone: TZ });  // YYYY-MM-DD
const numberFmt = new Intl.NumberFormat("zh-TW", { maximumFractionDigits: 2 });
const LIST_LIMIT = 50;

// Units as people read them: Chinese first, the API's unit under it.
const UNITS = {
  "alarms": "則", "alarms/day": "則／日", "alarms/10 min": "則／10 分鐘", "%": "%", "episodes": "次",
  "shelves": "次", "h": "小時",
};
const VERDICTS = {
  acceptable: "可接受 acceptable", manageable: "可管理 manageable", overloaded: "超出負荷 overloaded",
  meets: "符合 meets", misses: "未達 misses",
};
const SEVERITIES = { low: "低 low", medium: "中 medium", high: "高 high", critical: "緊急 critical" };

let report = null;

function fail(err) { $("page-error").textContent = err.message; }
function num(value, unit) {
  if (value === null || value === undefined) return "–";
  return unit ? `${numberFmt.format(value)} ${unit}` : numberFmt.format(value);
}
function pct(value) { return value === null || value === undefined ? "–" : `${numberFmt.format(value)} %`; }
function hours(value) { return `${numberFmt.format(value)} 小時 h`; }
function seconds(value) { return `${numberFmt.format(value)} 秒 s`; }
function when(iso) { return iso ? timeFmt.format(new Date(iso)) : "–"; }

function cell(row, content, cls) {
  const td = row.insertCell();
  if (content instanceof Node) td.append(content); else td.textContent = content;
  if (cls) td.className = cls;
  return td;
}
function twoLines(first, second, secondClass) {
  const span = document.createElement("span");
  span.textContent = first;
  const small = document.createElement("span");
  small.className = secondClass;
  small.textContent = second;
  const frag = document.createDocumentFragment();
  frag.append(span, small);
  return frag;
}
function fill(id, rows, columns, emptyText, total, path) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns; td.className = "empty"; td.textContent = emptyText;
    return;
  }
  for (const make of rows) make(body.insertRow());
  if (total > rows.length) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns; td.className = "more";
    td.textContent = `另有 ${total - rows.length} 筆 · ${total - rows.length} more: GET /alarms/health/${path || id}`;
  }
}

// --- the period in the address bar, and the ISO weeks before and after ---

function isoWeekOf(ms) {  // ms: UTC midnight of a calendar date
  const d = new Date(ms);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3);  // the Thursday of its week names the year
  const year = d.getUTCFullYear();
  const first = new Date(Date.UTC(year, 0, 4));  // 4 January is always in week 1
  first.setUTCDate(first.getUTCDate() - ((first.getUTCDay() + 6) % 7) + 3);
  const week = 1 + Math.round((d - first) / (7 * 86400000));
  return `${year}-W${String(week).padStart(2, "0")}`;
}
function shiftWeek(days) {
  const [y, m, d] = dateFmt.format(new Date(report.period.since)).split("-").map(Number);
  return isoWeekOf(Date.UTC(y, m - 1, d + days));
}
function wanted() {
  const params = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const key of ["week", "site", "since", "until"]) if (params.get(key)) out.set(key, params.get(key));
  return out;
}
function go(params) {
  history.replaceState(null, "", `${location.pathname}?${params}`);
  load().catch(fail);
}

// --- drawing ---

function drawChart(intervals, since, until, floodAbove) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const W = 1000, H = 190, left = 34, right = 8, top = 10, bottom = 30;
  const start = new Date(since).getTime(), end = new Date(until).getTime();
  const peak = Math.max(floodAbove + 2, ...intervals.map((i) => i.alarms));
  const x = (t) => left + ((t - start) / (end - start)) * (W - left - right);
  const y = (n) => top + (1 - n / peak) * (H - top - bottom);
  const el = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  svg.replaceChildren();
  el("line", { x1: left, y1: y(0), x2: W - right, y2: y(0), class: "axis" });
  for (const n of [0, floodAbove, peak]) el("text", { x: left - 4, y: y(n) + 4, "text-anchor": "end" }, String(n));
  for (let t = start; t < end; t += 86400000) {  // a tick at each local midnight (the period starts at one)
    el("line", { x1: x(t), y1: y(0), x2: x(t), y2: y(0) + 5, class: "axis" });
    el("text", { x: x(t) + 3, y: H - 8 }, dayFmt.format(new Date(t)));
  }
  const width = Math.max(1.5, x(start + 600000) - x(start));
  for (const i of intervals) {
    const t = new Date(i.start).getTime();
    const bar = el("rect", { x: x(t), y: y(i.alarms), width, height: y(0) - y(i.alarms), class: i.flood ? "bar flood" : "bar" });
    const title = document.createElementNS(ns, "title");
    title.textContent = `${timeFmt.format(new Date(t))}: ${i.alarms} 則 alarms`;
    bar.append(title);
  }
  el("line", { x1: left, y1: y(floodAbove), x2: W - right, y2: y(floodAbove), class: "flood-line" });
  el("text", { x: W - right - 4, y: y(floodAbove) - 4, "text-anchor": "end", class: "flood-label" }, `警報氾濫 flood > ${floodAbove}`);
}

function showFigures(scope) {
  fill("figures", scope.figures.map((f) => (row) => {
    row.dataset.key = f.key;
    cell(row, twoLines(f.label_zh, f.label_en, "label-en"));
    const unit = UNITS[f.unit] || f.unit;
    cell(row, twoLines(num(f.value, unit), f.unit === "%" ? "" : f.unit, "unit-en"), "num value");
    const bench = document.createElement("span");
    bench.className = "benchmark";
    if (f.benchmark) {
      bench.append(twoLines(f.benchmark.text_zh, f.benchmark.text_en, "label-en"));
      const source = document.createElement("span");
      source.className = "source"; source.textContent = f.benchmark.source;
      bench.append(source);
    } else { bench.textContent = "–"; }
    cell(row, bench);
    cell(row, f.verdict ? VERDICTS[f.verdict] : "", f.verdict ? `verdict verdict-${f.verdict}` : "");
  }), 4, "");
}

function showSites(sites) {
  $("site-section").hidden = sites.length === 0;
  const value = (s, key) => s.figures.find((f) => f.key === key).value;
  fill("sites", sites.map((s) => (row) => {
    row.dataset.site = s.site;
    cell(row, twoLines(s.site_name || s.site, s.site, "label-en"));
    cell(row, num(value(s, "alarms_total")), "num");
    cell(row, num(value(s, "alarms_per_day_avg")), "num");
    cell(row, num(value(s, "alarms_per_10min_avg")), "num");
    cell(row, num(value(s, "alarms_per_10min_peak")), "num");
    cell(row, pct(value(s, "flood_time_pct")), "num");
    cell(row, num(value(s, "chattering_alarms")), "num");
    cell(row, num(value(s, "fleeting_alarms")), "num");
    cell(row, num(value(s, "stale_alarms")), "num");
  }), 9, "沒有場域 No sites.");
}

function openShelve(actor) {
  const form = $("shelve-form");
  form.hidden = false;
  form.dataset.rule = actor.rule_key;
  form.dataset.device = actor.device_id;
  $("shelve-pair").textContent = `${actor.rule_name} (${actor.rule_key}) · ${actor.device_code}`;
  $("shelve-reason").focus();
}

async function toggleRule(row, actor, columns) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("rule-row")) { next.remove(); return; }
  const rule = await api(`/rules/${encodeURIComponent(actor.rule_key)}`);
  const detail = row.parentElement.insertRow(row.sectionRowIndex + 1);
  detail.className = "rule-row";
  const td = cell(detail, "", "rule-detail");
  td.colSpan = columns;
  const how = rule.source === "api"
    ? `以 PUT /rules/${rule.key} 修改 Change it with PUT /rules/${rule.key}`
    : "此規則來自規則檔：請修改規則檔 This rule comes from the rules file: edit the file";
  const pre = document.createElement("pre");
  pre.className = "rule";
  pre.textContent = JSON.stringify(rule.definition, null, 2);
  td.append(twoLines(`${rule.name}（${rule.kind}）`, how, "label-en"), pre);
}

function showBadActors(actors, total) {
  fill("bad-actors", actors.map((b) => (row) => {
    row.dataset.rule = b.rule_key;
    row.dataset.device = b.device_code;
    cell(row, String(b.rank), "num");
    cell(row, twoLines(b.rule_name, b.rule_key, "label-en"));
    cell(row, twoLines(b.device_code, `${b.site_code} · ${b.building_code}`, "label-en"));
    cell(row, num(b.alarms), "num alarms");
    cell(row, pct(b.share_pct), "num share");
    cell(row, pct(b.cumulative_pct), "num");
    cell(row, `${b.chattering_alarms} / ${b.fleeting_alarms}`, "num");
    const act = cell(row, "");
    if (b.shelved_until) {
      act.append(twoLines(`已擱置至 ${when(b.shelved_until)}`, "shelved", "label-en"));
    } else {
      const shelve = document.createElement("button");
      shelve.type = "button"; shelve.className = "small"; shelve.textContent = "擱置 Shelve";
      shelve.addEventListener("click", () => openShelve(b));
      act.append(shelve);
    }
    const rule = document.createElement("button");
    rule.type = "button"; rule.className = "small secondary"; rule.textContent = "規則 Rule";
    rule.addEventListener("click", () => toggleRule(row, b, 8).catch(fail));
    act.append(rule);
  }), 8, "本期沒有警報 No alarms in this period.", total, "bad-actors");
}

function showLists(lists, limits) {
  const [floods, chattering, fleeting, stale, shelves] = lists;
  const rule = (r) => twoLines(r.rule_name || r.rule_key, r.rule_name ? r.rule_key : "", "label-en");
  const device = (r) => twoLines(r.device_code, r.site_code, "label-en");
  fill("floods", floods.items.map((f) => (row) => {
    cell(row, when(f.start)); cell(row, clockFmt.format(new Date(f.end)));
    cell(row, num(f.alarms), "num"); cell(row, num(f.peak_per_10min), "num");
    cell(row, f.top_contributors.map((c) => `${c.rule_key} @ ${c.device_code} × ${c.alarms}`).join("、"));
  }), 5, "沒有警報氾濫 No floods.", floods.total);
  fill("chattering", chattering.items.map((c) => (row) => {
    cell(row, rule(c)); cell(row, device(c)); cell(row, num(c.alarms), "num");
    cell(row, num(c.chattering_alarms), "num"); cell(row, num(c.max_in_window), "num"); cell(row, when(c.first_burst_at));
  }), 6, "沒有抖動警報 No chattering alarms.", chattering.total);
  fill("fleeting", fleeting.items.map((f) => (row) => {
    cell(row, when(f.raised_at)); cell(row, f.rule_key); cell(row, device(f)); cell(row, seconds(f.active_s), "num");
  }), 4, "沒有瞬時警報 No fleeting alarms.", fleeting.total);
  fill("stale", stale.items.map((s) => (row) => {
    cell(row, when(s.raised_at)); cell(row, s.cleared_at ? when(s.cleared_at) : "仍在警報中 still active");
    cell(row, rule(s)); cell(row, device(s)); cell(row, hours(s.active_h), "num");
  }), 5, "沒有陳舊警報 No stale alarms.", stale.total);
  fill("shelves", shelves.items.map((s) => (row) => {
    cell(row, s.rule_key); cell(row, device(s)); cell(row, when(s.shelved_from));
    cell(row, when(s.shelved_to) + (s.ended_early ? "（提前結束 ended early）" : ""));
    cell(row, hours(s.hours_in_period), "num"); cell(row, s.created_by); cell(row, s.reason);
  }), 7, "本期沒有擱置 Nothing shelved.", shelves.total);
  const window = numberFmt.format(limits.chatter_window_s);
  $("chatter-rule").textContent = `同一規則與裝置在 ${window} 秒內發生 ${limits.chatter_count} 次以上 · ${limits.chatter_count}+ raises within ${window} s`;
  $("fleeting-rule").textContent = `${numberFmt.format(limits.fleeting_under_s)} 秒內復歸且無人處理 · cleared within ${numberFmt.format(limits.fleeting_under_s)} s, nobody acting`;
  $("stale-rule").textContent = `持續超過 ${numberFmt.format(limits.stale_after_h)} 小時 · active over ${numberFmt.format(limits.stale_after_h)} h`;
  for (const span of document.querySelectorAll("#flood-level, .flood-level")) span.textContent = limits.flood_above_per_10min;
}

function showPriorities(scope, b) {
  fill("priorities", scope.priorities.map((p) => (row) => {
    row.dataset.severity = p.severity;
    cell(row, SEVERITIES[p.severity] || p.severity);
    cell(row, num(p.alarms), "num"); cell(row, pct(p.share_pct), "num");
    cell(row, p.severity === "critical" ? `< ${pct(p.recommended_pct)}` : `≈ ${pct(p.recommended_pct)}`, "num");
    cell(row, p.difference_pct === null ? "–" : `${p.difference_pct > 0 ? "+" : ""}${numberFmt.format(p.difference_pct)} 個百分點 pts`, "num");
  }), 5, "");
  $("priority-benchmark").textContent = `${b.text_zh} · ${b.text_en} (${b.source})`;
}

async function allIntervals(href) {
  const items = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api(`${href}&limit=500&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

async function load() {
  $("page-error").textContent = "";
  const query = wanted();
  report = await api(`/alarms/health?${query}`);
  const p = report.period;
  $("week").value = p.week || "";
  $("site").value = report.scope.site || "";
  const last = new Date(new Date(p.until).getTime() - 1);
  const running = new Date(p.measured_until) < new Date(p.until);
  $("period-text").textContent = `${p.week ? p.week + "：" : ""}${dateFmt.format(new Date(p.since))} 至 ${dateFmt.format(last)}（Asia/Taipei）`
    + (running ? `，統計至 ${when(p.measured_until)} measured so far` : "")
    + ` · ${p.week ? "week " + p.week + ", " : ""}${dateFmt.format(new Date(p.since))} to ${dateFmt.format(last)}`
    + (report.scope.site ? ` · ${report.scope.site_name || report.scope.site}` : " · 全部場域 all sites");
  showFigures(report.scope);
  showSites(report.sites);
  showBadActors(report.scope.top_bad_actors, report.lists.bad_actors.total);
  const lists = await Promise.all(["floods", "chattering", "fleeting", "stale", "shelves"].map(
    (key) => api(`${report.lists[key].href}&limit=${LIST_LIMIT}`)));
  showLists(lists, report.limits);
  showPriorities(report.scope, report.priority_benchmark);
  drawChart(await allIntervals(report.lists.intervals.href), p.since, p.until, report.limits.flood_above_per_10min);
}

async function loadSites() {
  const sites = await api("/sites?limit=500");
  const select = $("site");
  for (const s of sites.items) {
    const option = document.createElement("option");
    option.value = s.code; option.textContent = `${s.name} (${s.code})`;
    select.append(option);
  }
}

function wire() {
  $("previous-week").addEventListener("click", () => { const q = wanted(); q.delete("since"); q.delete("until"); q.set("week", shiftWeek(-7)); go(q); });
  $("next-week").addEventListener("click", () => { const q = wanted(); q.delete("since"); q.delete("until"); q.set("week", shiftWeek(7)); go(q); });
  $("week").addEventListener("change", () => { const q = wanted(); q.delete("since"); q.delete("until"); q.set("week", $("week").value.trim().toUpperCase()); go(q); });
  $("site").addEventListener("change", () => { const q = wanted(); if ($("site").value) q.set("site", $("site").value); else q.delete("site"); go(q); });
  $("period").addEventListener("submit", (event) => event.preventDefault());
  $("shelve-cancel").addEventListener("click", () => { $("shelve-form").hidden = true; });
  $("shelve-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = $("shelve-form");
    const until = new Date(Date.now() + Number($("shelve-hours").value) * 3600000).toISOString();
    const body = { rule_key: form.dataset.rule, device_id: Number(form.dataset.device), until, reason: $("shelve-reason").value };
    api("/alarms/shelves", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then((shelf) => {
        form.hidden = true;
        $("shelve-result").textContent = `已擱置至 ${when(shelf.until)} · shelved until ${when(shelf.until)}`;
        return load();
      })
      .catch((err) => { $("shelve-result").textContent = err.message; });
  });
}

wire();
session({
  start: async (me) => {
    $("who-name").textContent = `${me.name} (${me.role})`;
    $("content").hidden = false;
    await loadSites().catch(() => {});
    await load().catch(fail);
  },
  stop: () => { $("content").hidden = true; },
});
