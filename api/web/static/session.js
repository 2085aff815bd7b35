// Signing in and calling the API, shared by the console and the crew page. The access token lives in the
// browser tab's sessionStorage; every page reads its data through the API with it.
"use strict";

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem("cityhall.token");
let onExpired = () => {};

// FastAPI's error body names the failing field last in `loc`: show it, people need to know what to fix.
function describeError(body, status) {
  if (!Array.isArray(body.detail)) return `HTTP ${status}`;
  const field = (d) => (Array.isArray(d.loc) && d.loc.length ? `${String(d.loc[d.loc.length - 1]).replace("_", " ")}: ` : "");
  return body.detail.map((d) => field(d) + d.msg).join("; ");
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401) { onExpired(); throw new Error("Please sign in again."); }
  if (!resp.ok) throw new Error(describeError(await resp.json().catch(() => ({})), resp.status));
  return resp.json();
}

// Wire the sign-in form and the sign-out button: `start(me)` shows the page, `stop()` hides it.
function session({ start, stop }) {
  const signOut = () => {
    sessionStorage.removeItem("cityhall.token");
    stop();
    $("who").hidden = true;
    $("sign-in").hidden = false;
  };
  onExpired = signOut;
  const begin = async () => {
    const me = await api("/auth/me");
    $("who").hidden = false;
    $("sign-in").hidden = true;
    await start(me);
  };
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    const resp = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
    if (!resp.ok) {
      $("sign-in-error").textContent = resp.status === 401 ? "Wrong user name or password." : `Sign-in failed (HTTP ${resp.status}).`;
      return;
    }
    sessionStorage.setItem("cityhall.token", (await resp.json()).access_token);
    begin().catch((err) => { $("sign-in-error").textContent = err.message; });
  });
  $("sign-out").addEventListener("click", signOut);
  if (token()) begin().catch(signOut);
}
