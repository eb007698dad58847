// Ask: question box, answer with numbered citations, the cited passage in a side panel, recent questions.
"use strict";
(function () {
  const { api, element } = window.Echo;
  const form = document.getElementById("ask-form");
  const question = document.getElementById("question");
  const answerBox = document.getElementById("answer");
  const recent = document.getElementById("recent");
  const panel = document.getElementById("passage");
  const layout = document.querySelector(".ask-layout");
  const RECENT_KEY = "echo.recent-questions";
  // Recent questions live in this tab's session storage only (never tokens: the app has none here).
  const remembered = () => JSON.parse(window.sessionStorage.getItem(RECENT_KEY) || "[]");

  function showRecent() {
    recent.replaceChildren(
      ...remembered().map((text) =>
        element("li", {}, element("button", { type: "button", class: "link", text, onclick: () => { question.value = text; question.focus(); } }))
      )
    );
  }

  function remember(text) {
    const list = [text, ...remembered().filter((item) => item !== text)].slice(0, 10);
    window.sessionStorage.setItem(RECENT_KEY, JSON.stringify(list));
    showRecent();
  }

  function where(citation) {
    const parts = [citation.filename];
    if (citation.page) parts.push(`page ${citation.page}`);
    if (citation.section && citation.section.length) parts.push(`section ${citation.section.join(" › ")}`);
    return parts.join(", ");
  }

  async function openCitation(citation, number, trigger) {
    document.getElementById("passage-title").textContent = `Cited passage [${number}]`;
    document.getElementById("passage-where").textContent = where(citation);
    const quote = document.getElementById("passage-text");
    quote.replaceChildren(element("mark", { text: citation.text || "" }));
    panel.hidden = false;
    layout.classList.add("with-passage");
    panel.dataset.returnFocus = trigger.id;
    document.getElementById("passage-close").focus();
    try {
      const chunk = await api(
        "GET",
        `documents/${encodeURIComponent(citation.document_id)}/chunks/${encodeURIComponent(citation.chunk_id)}`
      );
      if (chunk && typeof chunk.text === "string") {
        const before = chunk.before ? element("span", { text: chunk.before + "\n" }) : null;
        const after = chunk.after ? element("span", { text: "\n" + chunk.after }) : null;
        quote.replaceChildren(...[before, element("mark", { text: chunk.text }), after].filter(Boolean));
      }
    } catch (error) {
      // The answer already carries the passage's text; the chunk route adds context where it exists.
    }
  }

  function showAnswer(result) {
    const children = [];
    if (!result.enough_information) {
      children.push(element("p", { class: "not-enough", role: "status", text: "Not enough information in your documents to answer this question." }));
    }
    if (result.answer) children.push(element("p", { class: "answer-text", text: result.answer }));
    const citations = result.citations || [];
    if (citations.length) {
      children.push(element("h2", { text: "Sources" }));
      children.push(
        element(
          "ol",
          { class: "citations" },
          ...citations.map((citation, index) => {
            const number = citation.number || index + 1;
            return element(
              "li",
              { value: String(number) },
              element("button", {
                type: "button",
                class: "link citation",
                id: `citation-${number}`,
                text: `[${number}] ${where(citation)}`,
                onclick: (event) => openCitation(citation, number, event.currentTarget),
              })
            );
          })
        )
      );
    }
    answerBox.replaceChildren(...children);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    answerBox.replaceChildren(element("p", { role: "status", text: "Looking through your documents…" }));
    remember(text);
    try {
      showAnswer(await api("POST", "query", { question: text }));
    } catch (error) {
      answerBox.replaceChildren(element("p", { class: "error", role: "alert", text: `No answer: ${error.message}` }));
    }
  });

  document.getElementById("passage-close").addEventListener("click", () => {
    panel.hidden = true;
    layout.classList.remove("with-passage");
    const back = document.getElementById(panel.dataset.returnFocus || "");
    if (back) back.focus();
  });
  showRecent();
  // Enabled only once the handler is attached: a native submit would put the question in the URL.
  form.querySelector("button[type=submit]").disabled = false;
})();
