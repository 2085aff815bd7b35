// The training pages: my training, the department dashboard and the attendance sheet. Everything shown is
// read through the training API with the signed-in user's token (session.js).
"use strict";

const PAGE = document.body.dataset.page;
const dayFmt = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Taipei" });
const timeFmt = new Intl.DateTimeFormat("zh-TW", {
  timeZone: "Asia/Taipei", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const h = (x) => Number(x).toFixed(1);

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fail(err) { $("page-error").textContent = err.message; }

function showTarget(kind, progress) {
  const box = $(`target-${kind}`);
  box.querySelector(".done").textContent = h(progress.hours);
  box.querySelector(".goal").textContent = h(progress.target_hours);
  box.querySelector("meter").value = progress.target_hours ? Math.min(1, progress.hours / progress.target_hours) : 1;
  const verdict = box.querySelector(".verdict");
  if (progress.met) { verdict.textContent = "Target reached"; verdict.className = "hint verdict on-track"; }
  else if (progress.behind) {
    verdict.textContent = `Behind: ${h(progress.expected_hours)} h expected by now; ${h(progress.forecast_hours)} h at this pace`;
    verdict.className = "hint verdict behind";
  } else {
    verdict.textContent = `On track: ${h(progress.forecast_hours)} h expected by year end`;
    verdict.className = "hint verdict on-track";
  }
}

async function startMy() {
  const mine = await api("/training/me");
  const enrolled = new Map(mine.enrolments.map((e) => [e.session_id, e]));
  if (mine.progress) {
    $("as-of").textContent = `${mine.progress.year}, as of ${mine.progress.as_of}`;
    showTarget("on_the_job", mine.progress.on_the_job);
    showTarget("digital", mine.progress.digital);
  } else { $("no-profile").hidden = false; }
  const certs = $("certificates").tBodies[0];
  certs.replaceChildren();
  for (const c of mine.certificates) {
    const row = certs.insertRow();
    cell(row, c.number); cell(row, c.course_title); cell(row, c.issued_on);
    cell(row, c.revoked ? "withdrawn" : (c.expires_on || "never"));
  }
  $("no-certificates").hidden = mine.certificates.length > 0;
  const sessions = $("sessions").tBodies[0];
  sessions.replaceChildren();
  for (const s of mine.upcoming) {
    const row = sessions.insertRow();
    row.dataset.session = s.id;
    cell(row, timeFmt.format(new Date(s.starts_at))); cell(row, s.course_title); cell(row, s.place);
    cell(row, `${s.enrolled}/${s.capacity}${s.waitlisted ? ` (+${s.waitlisted} waiting)` : ""}`);
    const action = row.insertCell();
    const mineHere = enrolled.get(s.id);
    if (mineHere) {
      const label = mineHere.status === "enrolled" ? "Enrolled" : `Waiting list #${mineHere.queue_position}`;
      action.append(label + " ");
      const cancel = document.createElement("button");
      cancel.type = "button"; cancel.className = "secondary"; cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => api(`/training/sessions/${s.id}/enrolments/${mineHere.user_id}/cancel`, { method: "POST" }).then(startMy).catch(fail));
      action.append(cancel);
    } else {
      const enrol = document.createElement("button");
      enrol.type = "button"; enrol.textContent = s.enrolled < s.capacity ? "Enrol" : "Join waiting list";
      enrol.addEventListener("click", () => api(`/training/sessions/${s.id}/enrolments`, { method: "POST" }).then(startMy).catch(fail));
      action.append(enrol);
    }
  }
  $("no-sessions").hidden = mine.upcoming.length > 0;
}

async function download(path, name) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!resp.ok) throw new Error(`Export failed (HTTP ${resp.status}).`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await resp.blob());
  link.download = name;
  link.click();
}

async function startDepartment() {
  const [departments, people] = await Promise.all([api("/training/progress/departments"), api("/training/progress")]);
  const year = people.length ? people[0].year : new Date().getFullYear();
  $("as-of").textContent = people.length ? `${year}, as of ${people[0].as_of}` : "";
  const dbody = $("departments").tBodies[0];
  dbody.replaceChildren();
  for (const d of departments) {
    const row = dbody.insertRow();
    row.dataset.department = d.department_code;
    cell(row, d.department_code); cell(row, d.staff, "num");
    cell(row, `${h(d.on_the_job_hours)} / ${h(d.on_the_job_target_hours)}`, "num");
    cell(row, `${h(d.digital_hours)} / ${h(d.digital_target_hours)}`, "num");
    cell(row, `${d.met} (${d.met_pct}%)`, "num"); cell(row, d.behind, "num"); cell(row, d.forecast_short, "num");
  }
  const render = () => {
    const pbody = $("people").tBodies[0];
    pbody.replaceChildren();
    for (const p of people.filter((x) => x.behind || !$("only-behind").checked)) {
      const row = pbody.insertRow();
      row.dataset.user = p.username;
      if (p.behind) row.className = "behind";
      cell(row, p.full_name); cell(row, p.department_code);
      cell(row, `${h(p.on_the_job.hours)} (${h(p.on_the_job.target_hours)})`, "num");
      cell(row, `${h(p.digital.hours)} (${h(p.digital.target_hours)})`, "num");
      cell(row, `${h(p.on_the_job.forecast_hours)} / ${h(p.digital.forecast_hours)} h`, "num");
      cell(row, p.met ? "met" : p.behind ? "behind" : "on track", "status");
    }
  };
  $("only-behind").onchange = render;
  render();
  $("export-csv").onclick = () => download(`/training/exports/hours.csv?year=${year}`, `training-hours-${year}.csv`).catch(fail);
  $("export-xlsx").onclick = () => download(`/training/exports/hours.xlsx?year=${year}`, `training-hours-${year}.xlsx`).catch(fail);
}

function rosterRow(body, person) {
  const row = body.insertRow();
  row.dataset.username = person.username;
  cell(row, `${person.full_name} (${person.username})`);
  cell(row, person.enrolment || "walk-in");
  const present = document.createElement("input");
  present.type = "checkbox"; present.checked = person.attended_hours !== null;
  present.setAttribute("aria-label", `${person.username} present`);
  const hours = document.createElement("input");
  hours.type = "number"; hours.step = "0.25"; hours.min = "0";
  hours.setAttribute("aria-label", `${person.username} hours`);
  hours.value = person.attended_hours ?? "";
  present.addEventListener("change", () => { if (present.checked && !hours.value) hours.value = body.dataset.credit; });
  row.insertCell().append(present);
  row.insertCell().append(hours);
}

async function startSheet() {
  const id = document.body.dataset.session;
  const [s, roster] = await Promise.all([api(`/training/sessions/${id}`), api(`/training/sessions/${id}/roster`)]);
  $("session-title").textContent = `${s.course_title}`;
  $("session-when").textContent = `${timeFmt.format(new Date(s.starts_at))}, ${s.place}; full attendance credits ${h(s.credit_hours)} h`;
  const body = $("roster").tBodies[0];
  body.dataset.credit = s.credit_hours;
  body.replaceChildren();
  roster.forEach((p) => rosterRow(body, p));
  $("add-walk-in").onclick = () => {
    const name = $("walk-in").value.trim();
    if (!name) return;
    rosterRow(body, { username: name, full_name: name, enrolment: null, attended_hours: null });
    $("walk-in").value = "";
  };
  $("sheet-form").onsubmit = async (event) => {
    event.preventDefault();
    $("sheet-errors").replaceChildren();
    const rows = [...body.rows].filter((r) => r.querySelector("input[type=checkbox]").checked);
    const lines = rows.map((r) => ({ username: r.dataset.username, hours: Number(r.querySelector("input[type=number]").value) }));
    if (!lines.length) { $("sheet-result").textContent = "Tick the people present first."; return; }
    try {
      const report = await api(`/training/sessions/${id}/attendance`, {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ lines }),
      });
      $("sheet-result").textContent = `Saved: ${report.created} new, ${report.updated} corrected, ${report.unchanged} unchanged, ${report.errors.length} rejected.`;
      for (const e of report.errors) {
        const item = document.createElement("li");
        item.textContent = `${lines[e.row - 1].username}: ${e.reason}`;
        $("sheet-errors").append(item);
      }
    } catch (err) { fail(err); }
  };
}

const STARTS = { my: startMy, department: startDepartment, sheet: startSheet };
session({
  start: async (me) => {
    $("who-name").textContent = me.name;
    $("content").hidden = false;
    await STARTS[PAGE]().catch(fail);
  },
  stop: () => { $("content").hidden = true; },
});
