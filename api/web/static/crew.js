// The crew page: a phone-sized list of the signed-in crew member's open jobs and the moves they may make.
"use strict";

const timeFmt = new Intl.DateTimeFormat("zh-TW", {
  timeZone: "Asia/Taipei", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const $ = (id) => document.getElementById(id);
const OPEN = ["assigned", "in_progress", "on_hold"];
// What a crew member may do in each state: [button label, target status, what the note is for (or null)].
const MOVES = {
  assigned: [["Accept and start", "in_progress", null]],
  in_progress: [["Put on hold", "on_hold", "Reason for the hold"], ["Done", "done", "What was done"]],
  on_hold: [["Resume", "in_progress", null]],
};
let me = null;

const token = () => sessionStorage.getItem("cityhall.token");

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401) { signOut(); throw new Error("Please sign in again."); }
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    // FastAPI's error body names the failing field last in `loc`: show it, the crew needs to know what to fix.
    const field = (d) => (Array.isArray(d.loc) && d.loc.length ? `${String(d.loc[d.loc.length - 1]).replace("_", " ")}: ` : "");
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => field(d) + d.msg).join("; ") : `HTTP ${resp.status}`;
    throw new Error(detail);
  }
  return resp.json();
}

function move(ticket, status, note) {
  const body = { status };
  if (status === "on_hold") body.hold_reason = note;
  else if (note) body.note = note;
  return api(`/tickets/${ticket.id}`, {
    method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

function card(ticket) {
  const node = $("job-card").content.firstElementChild.cloneNode(true);
  node.dataset.ticket = ticket.id;
  node.querySelector(".job-id").textContent = `#${ticket.id}`;
  node.querySelector(".job-priority").textContent = ticket.priority;
  node.querySelector(".job-priority").className = `job-priority pri-${ticket.priority}`;
  node.querySelector(".job-status").textContent = ticket.status.replace("_", " ");
  node.querySelector(".job-title").textContent = ticket.title;
  node.querySelector(".job-description").textContent = ticket.description || "";
  node.querySelector(".job-opened").textContent = `Opened ${timeFmt.format(new Date(ticket.created_at))}`;
  node.querySelector(".job-hold").textContent = ticket.hold_reason ? `On hold: ${ticket.hold_reason}` : "";
  const actions = node.querySelector(".job-actions");
  const form = node.querySelector(".job-note");
  for (const [label, status, noteLabel] of MOVES[ticket.status] || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", () => {
      if (noteLabel === null) { act(move(ticket, status, null)); return; }
      form.hidden = false;
      actions.hidden = true;
      form.querySelector(".note-label").textContent = noteLabel;
      form.onsubmit = (event) => {
        event.preventDefault();
        act(move(ticket, status, form.note.value.trim()));
      };
    });
    actions.append(button);
  }
  form.querySelector(".cancel").addEventListener("click", () => { form.hidden = true; actions.hidden = false; });
  return node;
}

async function act(request) {
  $("job-error").textContent = "";
  try { await request; } catch (err) { $("job-error").textContent = err.message; }
  await load();
}

async function load() {
  const query = OPEN.map((s) => `status=${s}`).join("&");
  const page = await api(`/tickets?assignee_id=${me.id}&${query}&limit=100`);
  $("job-count").textContent = `${page.total} open job${page.total === 1 ? "" : "s"}.`;
  $("job-list").replaceChildren(...page.items.map(card));
}

async function start() {
  me = await api("/auth/me");
  $("who-name").textContent = me.name;
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("jobs").hidden = false;
  await load();
}

function signOut() {
  sessionStorage.removeItem("cityhall.token");
  $("who").hidden = true;
  $("jobs").hidden = true;
  $("sign-in").hidden = false;
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  const resp = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  if (!resp.ok) {
    $("sign-in-error").textContent = resp.status === 401 ? "Wrong user name or password." : `Sign-in failed (HTTP ${resp.status}).`;
    return;
  }
  sessionStorage.setItem("cityhall.token", (await resp.json()).access_token);
  start().catch((err) => { $("sign-in-error").textContent = err.message; });
});
$("sign-out").addEventListener("click", signOut);
if (token()) start().catch(signOut);
