/* romcam login page: posts the form as JSON to /api/auth/login, then opens the dashboard (or the page
 * whose login session ended, ?next=).
 * No inline script (CSP); the session cookie is HttpOnly, so this script never sees it. */
"use strict";

(function () {
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");

  /** Where to go after the login: the page whose session ended (``?next=``), if it is a page of this
   * server — a path, never another site ("//evil.example", "/\\evil.example", "https://…"). */
  function nextPage() {
    const next = new URLSearchParams(window.location.search).get("next") || "/";
    if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
    const url = new URL(next, window.location.origin);
    if (url.origin !== window.location.origin || url.pathname.startsWith("/login")) return "/";
    return url.pathname + url.search;
  }

  function say(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  /** The server's words for a refused account (one made for the server's own patient, say), as a sentence. */
  async function refusal(response) {
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === "string" && body.detail ? body.detail : "this account may not log in here";
    return `${detail[0].toUpperCase()}${detail.slice(1)}.`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: form.elements.email.value.trim(), password: form.elements.password.value }),
      });
      if (response.ok) {
        window.location.assign(nextPage());
        return;
      }
      if (response.status === 429) say("Too many failed attempts. Wait a minute, then try again.");
      else if (response.status === 401) say("Wrong email or password.");
      else if (response.status === 403) say(await refusal(response)); // the password was right, the account may not
      else say(`The server answered ${response.status}.`);
    } catch (err) {
      say("The romcam server could not be reached.");
    } finally {
      button.disabled = false;
    }
  });
})();
