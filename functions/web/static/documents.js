// Documents: live list (polling), upload straight to S3 with progress, drag and drop, share, delete.
"use strict";
(function () {
  const { api, element } = window.Echo;
  const TERMINAL = new Set(["ready", "failed", "deleted"]);
  const tbody = document.querySelector("#documents tbody");
  const listStatus = document.getElementById("list-status");
  const uploads = document.getElementById("uploads");
  const dropzone = document.getElementById("dropzone");
  const fileInput = document.getElementById("file");
  const dialog = document.getElementById("share-dialog");
  let timer = null;
  let sharing = null;

  function size(bytes) {
    if (bytes === null || bytes === undefined) return "–";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function shared(doc) {
    const sharedWith = doc.shared_with || {};
    const names = [...(sharedWith.users || []), ...(sharedWith.roles || []).map((r) => `role ${r}`)];
    return names.length ? names.join(", ") : "nobody";
  }

  function statusCell(doc) {
    const cell = element("td", { "data-status": doc.status });
    cell.append(element("span", { class: `status-${doc.status}`, text: doc.status.replace(/_/g, " ") }));
    if (doc.status === "failed" && doc.failure) {
      cell.append(element("br"), element("span", { class: "failure", text: doc.failure.message || doc.failure.code }));
    }
    return cell;
  }

  function row(doc) {
    const actions = element(
      "td",
      {},
      element("button", { type: "button", text: "Share", "aria-label": `Share ${doc.filename}`, onclick: () => openShare(doc) }),
      " ",
      element("button", {
        type: "button",
        class: "danger",
        text: "Delete",
        "aria-label": `Delete ${doc.filename}`,
        onclick: () => remove(doc),
      })
    );
    return element(
      "tr",
      { "data-document": doc.document_id },
      element("td", { text: doc.filename }),
      statusCell(doc),
      element("td", { text: size(doc.bytes) }),
      element("td", { text: doc.pages ?? "–" }),
      element("td", { text: doc.chunks ?? "–" }),
      element("td", { text: doc.owner || "" }),
      element("td", { text: doc.classification || "" }),
      element("td", { text: shared(doc) }),
      actions
    );
  }

  async function refresh() {
    clearTimeout(timer);
    let pending = false;
    try {
      const answer = await api("GET", "documents");
      const documents = answer.documents || [];
      tbody.replaceChildren(...documents.map(row));
      pending = documents.some((doc) => !TERMINAL.has(doc.status));
      listStatus.textContent = documents.length
        ? `${documents.length} document${documents.length === 1 ? "" : "s"}${pending ? ", processing…" : ""}`
        : "No documents yet.";
    } catch (error) {
      listStatus.textContent = `Could not load the documents: ${error.message}`;
    }
    timer = setTimeout(refresh, pending ? 1500 : 10000);
  }

  function upload(file) {
    const progress = element("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
    const note = element("span", { text: " starting…" });
    uploads.append(element("li", { "data-upload": file.name }, element("span", { text: `${file.name} ` }), progress, note));
    const classification = document.getElementById("classification").value;
    api("POST", "documents", { filename: file.name, content_type: file.type || undefined, size: file.size, classification })
      .then((created) => {
        const form = new FormData();
        for (const [key, value] of Object.entries(created.upload.fields)) form.append(key, value);
        form.append("file", file);
        const xhr = new XMLHttpRequest();
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
          note.textContent = ` ${progress.value}%`;
        });
        xhr.addEventListener("load", () => {
          const ok = xhr.status >= 200 && xhr.status < 300;
          if (ok) progress.value = 100;
          note.textContent = ok ? " uploaded" : ` upload refused (${xhr.status})`;
          refresh();
        });
        xhr.addEventListener("error", () => {
          note.textContent = " upload failed: the storage did not answer";
        });
        xhr.open("POST", created.upload.url);
        xhr.send(form);
        refresh();
      })
      .catch((error) => {
        note.textContent = ` refused: ${error.message}`;
      });
  }

  function uploadAll(files) {
    for (const file of files) upload(file);
  }

  function openShare(doc) {
    sharing = doc;
    document.getElementById("share-doc").textContent = doc.filename;
    const sharedWith = doc.shared_with || {};
    document.getElementById("share-users").value = (sharedWith.users || []).join(" ");
    document.getElementById("share-roles").value = (sharedWith.roles || []).join(" ");
    dialog.showModal();
  }

  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "share" || !sharing) return;
    const words = (id) => document.getElementById(id).value.split(/[\s,]+/).filter(Boolean);
    try {
      await api("POST", `documents/${encodeURIComponent(sharing.document_id)}/share`, {
        users: words("share-users"),
        roles: words("share-roles"),
      });
      listStatus.textContent = `${sharing.filename} is shared.`;
    } catch (error) {
      listStatus.textContent = `Sharing refused: ${error.message}`;
    }
    refresh();
  });

  async function remove(doc) {
    if (!window.confirm(`Delete ${doc.filename}? This cannot be undone.`)) return;
    try {
      await api("DELETE", `documents/${encodeURIComponent(doc.document_id)}`);
      listStatus.textContent = `${doc.filename} is being deleted.`;
    } catch (error) {
      listStatus.textContent = `Delete refused: ${error.message}`;
    }
    refresh();
  }

  document.getElementById("upload").addEventListener("click", () => {
    if (fileInput.files.length) uploadAll(fileInput.files);
    fileInput.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("over");
    });
  }
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("over");
    uploadAll(event.dataTransfer.files);
  });
  document.getElementById("upload").disabled = false;
  refresh();
})();
