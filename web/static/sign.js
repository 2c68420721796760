// The sign page: shows the exact bytes the server sent, and on "Sign"
// hashes exactly what is shown. If anything in this page changed the letter
// or the summary after it arrived, the hashes differ and the server refuses.
"use strict";

(function () {
  const page = document.getElementById("request");
  if (!page) return;
  const id = page.dataset.id;
  const csrf = page.dataset.csrf;
  const expires = Number(page.dataset.expires);
  const skew = Number(page.dataset.serverTime) - Date.now();
  const signButton = document.getElementById("sign-button");
  const summary = document.getElementById("summary");
  const field = (name) => summary.querySelector(`[data-field="${name}"]`);
  let final = false;

  async function fetchBytes(path) {
    const response = await fetch(path, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  // A PDF is shown by the browser's viewer from a blob of exactly the
  // received bytes; on "Sign" the page hashes that blob, and only while the
  // viewer still shows it.
  const pdfView = document.getElementById("pdf-view");
  let pdf = null;

  // Puts the received bytes on the page, as text only (never as HTML).
  function show(documentBytes, summaryBytes) {
    if (pdfView) {
      const blob = new Blob([documentBytes], { type: "application/pdf" });
      pdf = { blob, url: URL.createObjectURL(blob) };
      pdfView.src = pdf.url;
    } else {
      document.getElementById("document").textContent =
        new TextDecoder("utf-8", { fatal: true }).decode(documentBytes);
    }
    const s = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(summaryBytes));
    field("title").textContent = s.title;
    field("media_type").textContent = s.doc.media_type;
    field("size").textContent = String(s.doc.size);
    field("sha256").textContent = s.doc.sha256;
    field("v").textContent = s.v;
    const list = field("lines");
    list.replaceChildren();
    for (const line of s.lines) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = line.label;
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = line.value;
      item.append(label, value);
      list.append(item);
    }
  }

  // The summary as displayed, in RFC 8785 form: members in sorted order,
  // and JSON.stringify escapes strings exactly as JCS does.
  function displayedSummaryBytes() {
    const lines = [...field("lines").children].map((item) => ({
      label: item.querySelector(".label").textContent,
      value: item.querySelector(".value").textContent,
    }));
    const canonical = {
      doc: {
        media_type: field("media_type").textContent,
        sha256: field("sha256").textContent,
        size: Number(field("size").textContent),
      },
      lines,
      title: field("title").textContent,
      v: field("v").textContent,
    };
    return new TextEncoder().encode(JSON.stringify(canonical));
  }

  async function displayedDocumentBytes() {
    if (!pdfView) return new TextEncoder().encode(document.getElementById("document").textContent);
    if (pdfView.src !== pdf.url) return new Uint8Array(0); // the viewer was pointed elsewhere
    return new Uint8Array(await pdf.blob.arrayBuffer());
  }

  async function sign() {
    signButton.disabled = true;
    wysiwys.setText("status", "Checking what you saw…");
    const documentBytes = await displayedDocumentBytes();
    const body = {
      doc_hash: await wysiwys.sha256(documentBytes),
      summary_hash: await wysiwys.sha256(displayedSummaryBytes()),
    };
    const result = await wysiwys.post(`/api/requests/${id}/confirm`, csrf, body);
    // The live status reports the outcome in plain words; a refusal that
    // leaves the request open (an expired form, say) is only known here.
    if (!result.ok && !final) {
      const e = result.body || { error: "ERROR", error_description: `HTTP ${result.status}` };
      page.dataset.error = e.error;
      wysiwys.setText("status", `Not signed: ${e.error_description} (${e.error})`);
    }
  }

  function update(event) {
    const r = event.request;
    page.dataset.state = r.state;
    if (r.error) page.dataset.error = r.error.error;
    wysiwys.setText("status", event.message);
    if (r.state === "pending" && !r.web_confirmed_at) signButton.disabled = false;
    if (r.state !== "pending") signButton.disabled = true;
    if (r.state === "signed") document.getElementById("download").hidden = false;
    // A hash-only request ends here on this page: the signing application
    // collects its signatures itself.
    if (r.state === "signed" || r.state === "failed" || r.state === "authorized") {
      final = true;
      document.querySelector(".timer").hidden = true;
      // Asked for by a signing application through OAuth: back to it,
      // with the code once both channels confirmed (the server decides).
      const back = document.getElementById("continue");
      if (back) back.hidden = false;
      if (back && r.state === "authorized") window.location.assign(page.dataset.continue);
    }
  }

  function tick() {
    const left = Math.max(0, expires - (Date.now() + skew));
    const bar = document.getElementById("time-left");
    bar.value = left;
    wysiwys.setText("time-left-text", final ? "" : `${Math.ceil(left / 1000)} s`);
    if (!final && left > 0) setTimeout(tick, 1000);
  }

  function listen() {
    const source = new EventSource(`/api/requests/${id}/stream`);
    source.addEventListener("status", (e) => {
      update(JSON.parse(e.data));
      if (final) source.close();
    });
    source.onerror = () => { if (final) source.close(); };
  }

  Promise.all([fetchBytes(`/api/requests/${id}/document`), fetchBytes(`/api/requests/${id}/summary`)])
    .then(([documentBytes, summaryBytes]) => {
      show(documentBytes, summaryBytes);
      signButton.addEventListener("click", () => { sign().catch((e) => wysiwys.setText("status", `Error: ${e.message}`)); });
      listen();
      tick();
    })
    .catch((e) => wysiwys.setText("status", `Could not load the letter: ${e.message}`));
})();
