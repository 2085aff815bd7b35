// The operations console: counts, active alarms and open tickets, refreshed every 10 s (session.js signs in).
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

async function refresh() {
  const [alarms, tickets, devices, dead] = await Promise.all([
    api("/alarms?state=active&limit=100"),
    api("/tickets?status=open&status=assigned&status=in_progress&status=on_hold&limit=100"),
    api("/devices?limit=1"),
    api("/dead-letters?limit=1").catch(() => ({ total: "–" })),  // not every role may see them
  ]);
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
