// The crew page: a phone-sized list of the signed-in crew member's open jobs and the moves they may make.
"use strict";

const timeFmt = new Intl.DateTimeFormat("zh-TW", {
  timeZone: "Asia/Taipei", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const OPEN = ["assigned", "in_progress", "on_hold"];
// What a crew member may do in each state: [button label, target status, what the note is for (or null)].
const MOVES = {
  assigned: [["Accept and start", "in_progress", null]],
  in_progress: [["Put on hold", "on_hold", "Reason for the hold"], ["Done", "done", "What was done"]],
  on_hold: [["Resume", "in_progress", null]],
};
let me = null;

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

session({
  start: async (who) => {
    me = who;
    $("who-name").textContent = me.name;
    $("jobs").hidden = false;
    await load();
  },
  stop: () => { $("jobs").hidden = true; },
});
