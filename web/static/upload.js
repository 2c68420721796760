// Uploads a plain-text letter as it is on disk, then opens its sign page.
"use strict";

(function () {
  const section = document.getElementById("upload");
  if (!section) return;
  const input = document.getElementById("letter");
  document.getElementById("upload-button").addEventListener("click", async () => {
    const file = input.files && input.files[0];
    if (!file) {
      wysiwys.setText("upload-status", "Choose a .txt file first.");
      input.focus();
      return;
    }
    wysiwys.setText("upload-status", "Uploading…");
    const bytes = new Uint8Array(await file.arrayBuffer());
    const result = await wysiwys.post("/api/requests", section.dataset.csrf, bytes, "text/plain; charset=utf-8");
    if (result.ok) {
      window.location.href = `/requests/${encodeURIComponent(result.body.id)}`;
    } else {
      const e = result.body || { error: "ERROR", error_description: `HTTP ${result.status}` };
      wysiwys.setText("upload-status", `Not accepted: ${e.error_description} (${e.error})`);
    }
  });
})();
