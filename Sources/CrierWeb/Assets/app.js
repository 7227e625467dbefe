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
  sessionStatus(document.getElementById("session-status"));
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

// A session's status, and its QR code refreshed until the phone is linked.
function sessionStatus(panel) {
  if (!panel || !panel.dataset.statusUrl) return;
  const badge = document.getElementById("status-badge");
  const text = document.getElementById("status-text");
  const tick = async () => {
    try {
      const response = await fetch(panel.dataset.statusUrl, { headers: { "Accept": "application/json" } });
      if (!response.ok) return;
      const status = await response.json();
      badge.textContent = status.status;
      badge.className = "badge " + status.status.toLowerCase();
      text.textContent = status.statusText;
      const qr = document.getElementById("qr");
      if (qr && status.working) qr.remove();
      if (qr && status.needsQR) qr.querySelector("img").src = panel.dataset.qrUrl + "?t=" + Date.now();
    } catch (error) {
      // Try again at the next tick.
    }
  };
  setInterval(tick, 5000);
}
