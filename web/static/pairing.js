// Watches the device list until the new device shows up.
"use strict";

(function () {
  const page = document.getElementById("pairing");
  if (!page) return;
  const known = Number(page.dataset.known);
  async function poll() {
    const response = await fetch("/api/devices", { credentials: "same-origin" });
    if (response.ok) {
      const devices = await response.json();
      if (devices.length > known) {
        const newest = devices[devices.length - 1];
        if (newest.awaiting_approval) {
          page.dataset.paired = "awaiting";
          wysiwys.setText("pairing-status", `Paired: ${newest.name}. Approve it on one of your other devices.`);
        } else {
          page.dataset.paired = "true";
          wysiwys.setText("pairing-status", `Paired: ${newest.name}. It will receive your next sign request.`);
          return;
        }
      }
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
