// The operator's dashboard: GET /v1/health every ten seconds.
"use strict";

const ORDER = ["critical", "warning", "blocked", "unknown", "passing", "not_applicable"];
const FAILING = new Set(["critical", "warning", "blocked"]);
let latest = null;

function checksTable(checks, id) {
  if (checks.length === 0) return "";
  const rows = checks.map((c) => `<tr data-service="${escapeHtml(c.service_id)}" data-state="${escapeHtml(c.state)}">
      <td><a href="/services/${encodeURIComponent(c.service_id)}">${escapeHtml(c.service_id)}</a></td>
      <td>${escapeHtml(c.agency)}</td>
      <td>${escapeHtml(c.kind)}</td>
      <td>${stateBadge(c.state)}</td>
      <td><time datetime="${escapeHtml(c.since)}">${escapeHtml(formatTime(c.since))}</time></td>
      <td>${escapeHtml(c.last_error || "")}</td>
      <td>${uptimeBar(c.uptime_24h)}<br>${uptimeBar(c.uptime_7d)}</td>
      <td>${sparkline(c.recent)}</td>
    </tr>`).join("");
  return `<table id="${id}-table"><thead><tr>
      <th scope="col">${t("col.service")}</th><th scope="col">${t("col.agency")}</th>
      <th scope="col">${t("col.channel")}</th><th scope="col">${t("col.state")}</th>
      <th scope="col">${t("col.since")}</th><th scope="col">${t("col.error")}</th>
      <th scope="col">${t("col.uptime")}</th><th scope="col">${t("col.latency")}</th>
    </tr></thead><tbody>${rows}</tbody></table>`;
}

function render() {
  if (!latest) return;
  const summary = latest;
  const suspect = document.getElementById("suspect");
  suspect.hidden = !summary.checker.suspect;
  suspect.textContent = summary.checker.suspect
    ? `${t("health.suspect")} (${summary.checker.held})`
    : "";
  document.getElementById("counts").innerHTML = ORDER.map((state) =>
    `<li data-state="${state}"><span class="n">${summary.counts[state] ?? 0}</span>${stateBadge(state)}</li>`).join("");
  const failing = summary.checks.filter((c) => FAILING.has(c.state));
  document.getElementById("failing").innerHTML = failing.length
    ? checksTable(failing, "failing")
    : `<p>${escapeHtml(t("health.none_failing"))}</p>`;
  document.getElementById("all").innerHTML = checksTable(summary.checks.filter((c) => !FAILING.has(c.state)), "all");
  document.getElementById("stale").innerHTML = summary.stale.length
    ? `<ul>${summary.stale.map((id) => `<li><a href="/services/${encodeURIComponent(id)}">${escapeHtml(id)}</a></li>`).join("")}</ul>`
    : `<p>${escapeHtml(t("health.none_stale"))}</p>`;
  const byAgency = new Map();
  for (const c of summary.checks) {
    const row = byAgency.get(c.agency) || Object.fromEntries(ORDER.map((s) => [s, 0]));
    row[c.state] += 1;
    byAgency.set(c.agency, row);
  }
  const agencies = [...byAgency.entries()].sort(([a], [b]) => a.localeCompare(b));
  document.getElementById("agencies").innerHTML = agencies.length === 0 ? "" : `<table><thead><tr>
      <th scope="col">${t("col.agency")}</th>${ORDER.slice(0, 5).map((s) => `<th scope="col">${stateBadge(s)}</th>`).join("")}
    </tr></thead><tbody>${agencies.map(([agency, row]) => `<tr><th scope="row">${escapeHtml(agency)}</th>${ORDER.slice(0, 5).map((s) => `<td>${row[s]}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    latest = await fetchJson("/v1/health");
    render();
    status.textContent = `${t("health.updated")} ${new Date().toLocaleTimeString(lang === "en" ? "en-GB" : "nb-NO")}`;
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.textContent = `${t("try.error")}: ${e.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupLanguageSwitch();
  onLanguageChange(render);
  refresh();
  setInterval(refresh, 10000);
});
