// Crier dashboard: small enhancements over pages that work without JavaScript.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Choosing the number or audience brings that number's chats, and leaves everything else as typed.
  for (const select of document.querySelectorAll("select[data-chats-url]")) {
    select.addEventListener("change", () => showChats(select.form, select.dataset.chatsUrl));
  }
  const showButton = document.getElementById("show-chats");
  if (showButton) showButton.hidden = true;

  bindChatFilter(document);
  keepDraft(document.getElementById("campaign-form"));

  // The browser's own time zone, when the field is still empty and the server knows the zone.
  for (const input of document.querySelectorAll("[data-browser-zone]")) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const known = input.list && Array.from(input.list.options).some((option) => option.value === zone);
    if (input.value === "" && known) input.value = zone;
  }

  // Destructive forms ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  livePreview(document.getElementById("campaign-form"));
  livePage();
  refreshQRCode();
});

// Search in a long list of chats.
function bindChatFilter(root) {
  for (const input of root.querySelectorAll("[data-filter]")) {
    const items = document.querySelectorAll(input.dataset.filter);
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      for (const item of items) item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
    });
  }
}

async function showChats(form, url) {
  const target = document.getElementById("chat-fieldset");
  if (!form || !target) return;
  const query = new URLSearchParams({ sessionId: form.elements.sessionId.value, audienceType: form.elements.audienceType.value });
  try {
    const response = await fetch(url + "?" + query, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
    if (!response.ok || response.redirected) return;
    // A typed chat id and name stay; ticked chats belonged to the other list.
    const typed = ["groupId", "groupName"].map((id) => [id, document.getElementById(id)?.value]);
    target.innerHTML = await response.text();
    for (const [id, value] of typed) { const field = document.getElementById(id); if (field && value) field.value = value; }
    bindChatFilter(target);
    form.dispatchEvent(new Event("change"));
  } catch (error) {
    // Unreachable: the "Show this number's chats" button does the same through the server.
    const button = document.getElementById("show-chats");
    if (button) button.hidden = false;
  }
}

// What was typed survives a sign-in that expired meanwhile: kept in this tab when the form is sent,
// offered again when the same form comes back empty (after signing in), dropped once it went through.
function keepDraft(form) {
  const key = "crier-draft";
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (error) { saved = null; }
  const onLogin = location.pathname === "/login";
  if (saved && form && form.dataset.draft === saved.action && form.hasAttribute("data-fresh") && Date.now() - saved.at < 3600000) {
    for (const [name, value] of saved.fields) {
      if (name === "_csrf" || name === "intent") continue;
      const fields = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
      for (const field of fields) {
        if (field.type === "checkbox") field.checked = field.checked || field.value === value || value === "on";
        else if (fields.length === 1) field.value = value;
      }
    }
    const notice = document.getElementById("draft-restored");
    if (notice) notice.hidden = false;
    sessionStorage.removeItem(key);
    form.dispatchEvent(new Event("change"));
  } else if (saved && !onLogin && (!form || !form.hasAttribute("data-fresh"))) {
    sessionStorage.removeItem(key);  // it went through, or the server gave the form back filled in
  }
  if (form) {
    form.addEventListener("submit", () => {
      sessionStorage.setItem(key, JSON.stringify({ action: form.dataset.draft, at: Date.now(), fields: Array.from(new FormData(form).entries()) }));
    });
  }
}

// Every message the campaign would send, refreshed as the form changes; errors shown at their fields.
function livePreview(form) {
  if (!form || !form.dataset.previewUrl) return;
  const preview = document.getElementById("preview");
  let timer = null;
  let latest = 0;
  const refresh = async () => {
    const request = ++latest;
    const body = new URLSearchParams(new FormData(form));
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST", body, headers: { "Accept": "application/json" }, credentials: "same-origin",
      });
      if (!response.ok || request !== latest) return;
      const result = await response.json();
      showErrors(form, result.errors || {});
      if (result.html !== undefined) preview.innerHTML = result.html;
    } catch (error) {
      // The server is unreachable: the Preview button still works once it is back.
    }
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(refresh, 400); };
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (form.elements.startDate && form.elements.startDate.value) refresh();
}

function showErrors(form, errors) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    const field = slot.dataset.errorFor;
    slot.textContent = errors[field] || "";
    const input = document.getElementById(field);
    if (input) {
      if (errors[field]) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }
}

// Live pages: the parts marked data-live are fetched again whenever the server says something of
// this user's changed (server-sent events from /events), so nothing needs a reload.
function livePage() {
  if (!document.querySelector("[data-live]") || !("EventSource" in window)) return;
  const source = new EventSource("/events");
  window.addEventListener("pagehide", () => source.close());
  let timer = null;
  let running = false;
  let again = false;
  const refresh = async () => {
    if (running) { again = true; return; }
    running = true;
    for (const region of document.querySelectorAll("[data-live]")) {
      try {
        const response = await fetch(region.dataset.live, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
        if (response.ok && !response.redirected) region.innerHTML = await response.text();
      } catch (error) {
        // The server is unreachable: the next change, or a reload, brings the page up to date.
      }
    }
    running = false;
    document.documentElement.dataset.liveRefreshed = String(Date.now());
    if (again) { again = false; refresh(); }
  };
  source.addEventListener("changed", () => { clearTimeout(timer); timer = setTimeout(refresh, 100); });
  // A stream that was closed (signed out elsewhere, or the server restarted) is opened again by the
  // browser; what changed meanwhile is fetched once it is back.
  source.addEventListener("open", () => { if (document.documentElement.dataset.liveOpened) refresh(); document.documentElement.dataset.liveOpened = "yes"; });
}

// A QR code renews itself at the gateway: the image is fetched again while it is shown.
function refreshQRCode() {
  setInterval(() => {
    const image = document.querySelector("#qr img[data-refresh]");
    if (image) image.src = image.dataset.refresh + "?t=" + Date.now();
  }, 5000);
}
