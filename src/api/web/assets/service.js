// One entry as a person reads it: GET /v1/services/{id}, its availability and its health.
"use strict";

const DAY = { nb: { mon: "man", tue: "tir", wed: "ons", thu: "tor", fri: "fre", sat: "lør", sun: "søn" },
              en: { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" } };
const serviceId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
let data = null;

function text(map) {
  if (!map) return "";
  return map[lang] || map.nb || Object.values(map)[0] || "";
}

function ages(audience) {
  const { min_age: min, max_age: max } = audience || {};
  if (min != null && max != null) return t("service.years", { min, max });
  if (min != null) return t("service.from", { min });
  if (max != null) return t("service.to", { max });
  return t("service.all_ages");
}

function hoursText(hours) {
  if (!hours) return t("open.unknown");
  if (hours.always_open) return t("hours.always");
  const parts = (hours.weekly || []).map((rule) =>
    `${rule.days.map((d) => DAY[lang][d] || d).join(", ")} ${rule.opens}–${rule.closes}`);
  if (hours.holidays === "closed") parts.push(t("hours.holidays_closed"));
  return parts.join("; ");
}

function render() {
  if (!data) return;
  const { entry, availability, health, topics } = data;
  document.title = `Veiviser – ${text(entry.name)}`;
  document.getElementById("name").textContent = text(entry.name);
  document.getElementById("summary").textContent = text(entry.summary);
  document.getElementById("description").textContent = text(entry.description);
  const labels = new Map();
  for (const category of topics.categories || []) {
    labels.set(category.id, category.label);
    for (const sub of category.subtopics || []) labels.set(sub.id, sub.label);
  }
  const coverage = entry.coverage.scope === "national" ? t("service.national")
    : [entry.coverage.counties?.length ? `${t("service.counties")}: ${entry.coverage.counties.join(", ")}` : "",
       entry.coverage.municipalities?.length ? `${t("service.municipalities")}: ${entry.coverage.municipalities.join(", ")}` : ""]
      .filter(Boolean).join("; ");
  const facts = [
    [t("service.agency"), entry.agency + (entry.provider ? ` (${entry.provider.name})` : "")],
    [t("service.topics"), entry.topics.map((id) => text(labels.get(id)) || id).join(", ")],
    [t("service.audience"), ages(entry.audience)],
    [t("service.coverage"), coverage],
    [t("service.urgency"), t("urgency_word." + entry.urgency)],
    [t("service.status"), t("status." + entry.status)],
    [t("service.verified"), entry.last_verified_at ? formatTime(entry.last_verified_at) : t("service.never")],
  ];
  document.getElementById("facts").innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
  document.getElementById("channels").innerHTML = entry.channels.map((channel, i) => {
    const open = availability.channels[i] || {};
    const check = health.checks.find((c) => c.channel === i);
    return `<li data-kind="${escapeHtml(channel.kind)}"><strong>${escapeHtml(channel.kind)}</strong>: ${channelLink(channel)}
      ${channel.anonymous ? `(${escapeHtml(t("anonymous"))})` : ""}
      — <span class="open" data-open="${open.open_now}">${escapeHtml(openText(open))}</span>
      <br><span class="muted">${escapeHtml(hoursText(channel.hours))}</span>
      ${check ? `<br>${stateBadge(check.state)}` : ""}</li>`;
  }).join("");
  document.getElementById("health").innerHTML = health.checks.length === 0
    ? `<p>${escapeHtml(t("state.not_applicable"))}</p>`
    : health.checks.map((c) => `<h3>${escapeHtml(c.kind)} ${stateBadge(c.state)}</h3>
        <p>${t("col.uptime")}: ${percent(c.uptime_24h)} / ${percent(c.uptime_7d)}${c.last_error ? ` — ${escapeHtml(c.last_error)}` : ""}</p>
        ${sparkline((c.history || []).map((p) => ({ latency_ms: p.latency_ms, outcome: p.result || p.outcome || (p.error ? "fail" : "pass") })), 480, 64)}`).join("");
}

async function load() {
  const status = document.getElementById("status");
  try {
    const id = encodeURIComponent(serviceId);
    const [entry, availability, health, topics] = await Promise.all([
      fetchJson(`/v1/services/${id}`), fetchJson(`/v1/services/${id}/availability`),
      fetchJson(`/v1/services/${id}/health`), fetchJson("/v1/topics"),
    ]);
    data = { entry, availability, health, topics };
    render();
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.textContent = `${t("try.error")}: ${e.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupLanguageSwitch();
  onLanguageChange(render);
  load();
});
