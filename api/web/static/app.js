// The operations console: counts, active alarms, open tickets and the committee's latest reports, refreshed
// every 10 s (session.js signs in). The links to every module's pages are in the page itself.
"use strict";

const TZ = "Asia/Taipei";
const timeFmt = new Intl.DateTimeFormat("zh-TW", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  hour12: false,
});
let timer = null;

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(table, rows, columns, emptyText) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(emptyText, "empty");
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    tr.append(...cells);
    body.append(tr);
  }
}

const number = new Intl.NumberFormat("zh-TW", { maximumFractionDigits: 0 });

// A report file through the API with the user's token, saved under the name the server gives it.
async function download(path, name) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!resp.ok) throw new Error(describeError(await resp.json().catch(() => ({})), resp.status));
  const url = URL.createObjectURL(await resp.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function fileButtons(report) {
  const td = document.createElement("td");
  for (const fmt of ["pdf", "html", "xlsx"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = fmt.toUpperCase();
    button.addEventListener("click", () => {
      $("report-error").textContent = "";
      download(report.files[fmt], `committee-report-${report.kind}-${report.period}.${fmt}`)
        .catch((err) => { $("report-error").textContent = err.message; });
    });
    td.append(button, " ");
  }
  return td;
}

function showReports(reports) {
  $("reports").hidden = reports === null;  // not every role may read them
  if (reports === null) return;
  fill("report-list", reports.items.map((r) => {
    const power = (r.summary.areas || {}).electricity;
    const kwh = (v) => (power && v !== null && v !== undefined ? `${number.format(v)} ${power.unit}` : "–");
    const change = power && power.change_pct !== null ? `${power.change_pct.toFixed(1)} %` : "–";
    return [
      cell(r.period),
      cell(r.kind),
      cell(kwh(power && power.current), "num"),
      cell(kwh(power && power.last_year), "num"),
      cell(change, "num"),
      cell(`${timeFmt.format(new Date(r.generated_at))} ${r.generated_by}`),
      fileButtons(r),
    ];
  }), 7, "No reports stored yet.");
}

async function refresh() {
  const [alarms, tickets, devices, dead, reports] = await Promise.all([
    api("/alarms?state=active&limit=100"),
    api("/tickets?status=open&status=assigned&status=in_progress&status=on_hold&limit=100"),
    api("/devices?limit=1"),
    api("/dead-letters?limit=1").catch(() => ({ total: "–" })),  // not every role may see them
    api("/reports?limit=6").catch(() => null),
  ]);
  showReports(reports);
  $("n-alarms").textContent = alarms.total;
  $("n-tickets").textContent = tickets.total;
  $("n-devices").textContent = devices.total;
  $("n-dead").textContent = dead.total;
  fill("alarms", alarms.items.map((a) => [
    cell(timeFmt.format(new Date(a.raised_at))),
    cell(a.severity, `sev-${a.severity}`),
    cell(a.rule_name),
    cell(a.device_code),
    cell(`${a.trigger_value} ${a.unit}`, "num"),
    cell(`${a.threshold} ${a.unit}`, "num"),
  ]), 6, "No active alarms.");
  fill("tickets", tickets.items.map((t) => [
    cell(t.id, "num"),
    cell(timeFmt.format(new Date(t.created_at))),
    cell(t.priority, `pri-${t.priority}`),
    cell(t.status.replace("_", " ")),
    cell(t.title),
  ]), 5, "No open tickets.");
  $("refreshed").textContent = timeFmt.format(new Date());
}

session({
  start: async (me) => {
    $("who-name").textContent = `${me.name} (${me.role})`;
    $("console").hidden = false;
    await refresh();
    timer = setInterval(() => refresh().catch(console.error), 10000);
  },
  stop: () => {
    clearInterval(timer);
    $("console").hidden = true;
  },
});
