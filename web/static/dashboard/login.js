/* romcam login page: posts the form as JSON to /api/auth/login, then opens the dashboard.
 * No inline script (CSP); the session cookie is HttpOnly, so this script never sees it. */
"use strict";

(function () {
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");

  function say(text) {
    error.textContent = text;
    error.hidden = !text;
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
        window.location.assign("/");
        return;
      }
      if (response.status === 429) say("Too many failed attempts. Wait a minute, then try again.");
      else if (response.status === 401) say("Wrong email or password.");
      else say(`The server answered ${response.status}.`);
    } catch (err) {
      say("The romcam server could not be reached.");
    } finally {
      button.disabled = false;
    }
  });
})();
