// Crier dashboard: small enhancements over pages that work without JavaScript.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Choosing the number or audience reloads the chat list.
  for (const select of document.querySelectorAll("[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // Search in a long list of chats.
  for (const input of document.querySelectorAll("[data-filter]")) {
    const items = document.querySelectorAll(input.dataset.filter);
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      for (const item of items) item.hidden = needle !== "" && !item.textContent.toLowerCase().includes(needle);
    });
  }

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
