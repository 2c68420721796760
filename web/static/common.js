// Shared helpers for the wysiwys pages. Plain JavaScript, no framework.
"use strict";

const wysiwys = {
  // base64url without padding, as every hash on the wire.
  b64url(bytes) {
    let text = "";
    for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },

  // SHA-256 with WebCrypto, base64url.
  async sha256(bytes) {
    return wysiwys.b64url(await crypto.subtle.digest("SHA-256", bytes));
  },

  // POST JSON or bytes with the CSRF header; resolves to {ok, status, body}.
  async post(path, csrf, body, contentType) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": contentType || "application/json", "x-csrf-token": csrf },
      body: contentType ? body : JSON.stringify(body),
    });
    let json = null;
    try { json = await response.json(); } catch (_) { /* not JSON */ }
    return { ok: response.ok, status: response.status, body: json };
  },

  setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  },
};
