// The front door as a young person sees it: POST /v1/route (the question stays in the body,
// never in the address), then the services with their channels, open state and reasons.
"use strict";

let answer = null;

function render() {
  const root = document.getElementById("answer");
  if (!answer) {
    root.innerHTML = "";
    return;
  }
  const parts = [];
  if (answer.crisis) {
    parts.push(`<div class="crisis-banner" id="crisis" role="alert"><strong aria-hidden="true">⚠</strong> ${escapeHtml(t("try.crisis"))}</div>`);
  }
  if (answer.topics.length) {
    parts.push(`<p class="muted">${escapeHtml(t("try.understood"))}: ${answer.topics.map((topic) => escapeHtml(topic.label || topic.id)).join(", ")}</p>`);
  }
  const results = answer.results.length ? answer.results : answer.fallback ? [answer.fallback] : [];
  if (!answer.results.length) parts.push(`<p>${escapeHtml(t("try.none"))}</p>`);
  else parts.push(`<h2>${escapeHtml(t("try.results"))}</h2>`);
  parts.push(`<ol class="results" id="results">${results.map((r) => {
    const urgent = r.urgency === "crisis" || r.urgency === "emergency";
    return `<li class="result${urgent ? " crisis" : ""}" data-service="${escapeHtml(r.service_id)}" data-urgency="${escapeHtml(r.urgency)}">
      <h3>${urgent ? `<span aria-hidden="true">⚠ </span>` : ""}<a href="/services/${encodeURIComponent(r.service_id)}">${escapeHtml(r.name)}</a>
        ${urgent ? `<span class="badge state-critical">${escapeHtml(t("urgency." + r.urgency))}</span>` : ""}</h3>
      <p class="muted">${escapeHtml(r.provider)}</p>
      <ul class="channels">${(r.channels || []).map((c) => `<li data-kind="${escapeHtml(c.kind)}"><strong>${escapeHtml(c.kind)}</strong>: ${channelLink(c)}
        ${c.anonymous ? `(${escapeHtml(t("anonymous"))})` : ""} — <span class="open" data-open="${c.open_now}">${escapeHtml(openText(c))}</span>
        ${c.health === "critical" ? ` — ${stateBadge("critical")} ${escapeHtml(t("health.down"))}` : ""}</li>`).join("")}</ul>
      <details><summary>${escapeHtml(t("try.reasons"))}</summary>
        <ul class="reasons">${(r.reasons || []).map((reason) => `<li>${escapeHtml(reason)}</li>`).join("")}</ul></details>
    </li>`;
  }).join("")}</ol>`);
  root.innerHTML = parts.join("");
}

async function ask(event) {
  event.preventDefault();
  const form = event.target;
  const status = document.getElementById("status");
  const body = { q: form.q.value.trim(), lang };
  if (form.age.value !== "") body.age = Number(form.age.value);
  if (form.municipality.value.trim() !== "") body.municipality = form.municipality.value.trim();
  status.textContent = t("try.working");
  try {
    answer = await fetchJson("/v1/route", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    status.textContent = "";
    render();
    document.body.dataset.answered = "true";
    const first = document.querySelector("#answer h2, #answer .crisis-banner");
    if (first) first.setAttribute("tabindex", "-1");
  } catch (e) {
    answer = null;
    render();
    status.textContent = `${t("try.error")}: ${e.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupLanguageSwitch();
  onLanguageChange(render);
  document.getElementById("ask").addEventListener("submit", ask);
});
