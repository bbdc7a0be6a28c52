// Shared by Veiviser's pages: language (Bokmål by default, English on request), fetching,
// state badges and small SVG charts. No framework and nothing from outside.
"use strict";

const TEXT = {
  nb: {
    "nav.health": "Helse", "nav.try": "Prøv veiviseren", "lang.switch": "English",
    "health.suspect": "De fleste kontrollene feilet samtidig: trolig er det Veivisers egen forbindelse som svikter. Rutingen bruker siste kjente tilstander, og etatene varsles ikke. Kontroller holdt tilbake",
    "health.title": "Katalogens helse", "health.counts": "Kontroller etter tilstand",
    "health.failing": "Feilende kontroller", "health.none_failing": "Ingen kontroller feiler nå.",
    "health.all": "Alle kontroller", "health.stale": "Oppføringer som ikke er bekreftet på lenge",
    "health.none_stale": "Ingen.", "health.agencies": "Per etat", "health.updated": "Oppdatert",
    "col.service": "Tjeneste", "col.agency": "Etat", "col.channel": "Kanal", "col.state": "Tilstand",
    "col.since": "Siden", "col.error": "Siste feil", "col.uptime": "Oppetid 24 t / 7 d",
    "col.latency": "Svartid (siste målinger)", "col.checks": "Kontroller",
    "state.critical": "Kritisk", "state.warning": "Advarsel", "state.blocked": "Blokkert",
    "state.unknown": "Ukjent", "state.passing": "OK", "state.not_applicable": "Ikke kontrollert",
    "chart.latency": "Svartid for de siste {n} målingene: {min}–{max} ms, {fails} feilet",
    "chart.none": "Ingen målinger ennå",
    "service.topics": "Emner", "service.audience": "For", "service.coverage": "Dekker",
    "service.channels": "Kanaler", "service.health": "Helsehistorikk", "service.agency": "Etat",
    "service.verified": "Sist bekreftet", "service.never": "aldri", "service.national": "Hele landet",
    "service.municipalities": "Kommuner", "service.counties": "Fylker", "service.years": "{min}–{max} år",
    "service.urgency": "Hastegrad", "service.status": "Status",
    "service.all_ages": "Alle aldre", "service.from": "fra {min} år", "service.to": "til og med {max} år",
    "urgency_word.crisis": "krise", "urgency_word.emergency": "nød", "urgency_word.ordinary": "vanlig",
    "status.active": "aktiv", "status.paused": "midlertidig stengt", "status.retired": "avviklet",
    "open.open": "Åpen nå", "open.closed": "Stengt nå", "open.unknown": "Åpningstider ikke oppgitt",
    "open.closes": "stenger {t}", "open.opens": "åpner {t}", "open.always": "døgnåpen",
    "hours.always": "Døgnåpent", "hours.holidays_closed": "Stengt på helligdager",
    "anonymous": "anonymt",
    "try.title": "Prøv veiviseren", "try.intro": "Slik ser ung.no sitt svar ut for et spørsmål. Spørsmålet lagres ikke.",
    "try.q": "Hva lurer du på?", "try.age": "Alder (valgfritt)", "try.municipality": "Kommunenummer (valgfritt)",
    "try.municipality_hint": "Fire sifre, for eksempel 4601 for Bergen.", "try.submit": "Finn hjelp",
    "try.crisis": "Er du i fare nå? Ring 113 (ambulanse), 112 (politi) eller 110 (brann). Du kan også ringe Mental Helse Hjelpetelefonen på 116 123 døgnet rundt.",
    "try.results": "Her kan du få hjelp", "try.none": "Fant ingen tjeneste som passer. Still spørsmålet ditt til ung.no:",
    "try.understood": "Forstått som", "try.reasons": "Hvorfor", "try.working": "Leter …",
    "try.error": "Noe gikk galt", "urgency.crisis": "Krisehjelp", "urgency.emergency": "Nødhjelp", "urgency.ordinary": "",
    "health.ok": "fungerer", "health.down": "svarer ikke",
  },
  en: {
    "nav.health": "Health", "nav.try": "Try the front door", "lang.switch": "Norsk",
    "health.suspect": "Most checks failed at once: most likely Veiviser's own connection is down. Routing uses the last known states and agencies are not alerted. Checks held back",
    "health.title": "Catalogue health", "health.counts": "Checks by state",
    "health.failing": "Failing checks", "health.none_failing": "No check is failing now.",
    "health.all": "All checks", "health.stale": "Entries nobody has confirmed for a long time",
    "health.none_stale": "None.", "health.agencies": "By agency", "health.updated": "Updated",
    "col.service": "Service", "col.agency": "Agency", "col.channel": "Channel", "col.state": "State",
    "col.since": "Since", "col.error": "Last error", "col.uptime": "Uptime 24 h / 7 d",
    "col.latency": "Latency (recent probes)", "col.checks": "Checks",
    "state.critical": "Critical", "state.warning": "Warning", "state.blocked": "Blocked",
    "state.unknown": "Unknown", "state.passing": "Passing", "state.not_applicable": "Not checked",
    "chart.latency": "Latency of the last {n} probes: {min}–{max} ms, {fails} failed",
    "chart.none": "No probes yet",
    "service.topics": "Topics", "service.audience": "For", "service.coverage": "Covers",
    "service.channels": "Channels", "service.health": "Health history", "service.agency": "Agency",
    "service.verified": "Last confirmed", "service.never": "never", "service.national": "All of Norway",
    "service.municipalities": "Municipalities", "service.counties": "Counties", "service.years": "ages {min}–{max}",
    "service.urgency": "Urgency", "service.status": "Status",
    "service.all_ages": "All ages", "service.from": "from age {min}", "service.to": "up to age {max}",
    "urgency_word.crisis": "crisis", "urgency_word.emergency": "emergency", "urgency_word.ordinary": "ordinary",
    "status.active": "active", "status.paused": "temporarily closed", "status.retired": "retired",
    "open.open": "Open now", "open.closed": "Closed now", "open.unknown": "Opening hours not given",
    "open.closes": "closes {t}", "open.opens": "opens {t}", "open.always": "open around the clock",
    "hours.always": "Open around the clock", "hours.holidays_closed": "Closed on public holidays",
    "anonymous": "anonymous",
    "try.title": "Try the front door", "try.intro": "What ung.no answers to a question. The question is not stored.",
    "try.q": "What is on your mind?", "try.age": "Age (optional)", "try.municipality": "Municipality number (optional)",
    "try.municipality_hint": "Four digits, e.g. 4601 for Bergen.", "try.submit": "Find help",
    "try.crisis": "Are you in danger now? Call 113 (ambulance), 112 (police) or 110 (fire). You can also call the Mental Helse helpline on 116 123 around the clock.",
    "try.results": "Where you can get help", "try.none": "No service matched. Ask your question at ung.no:",
    "try.understood": "Understood as", "try.reasons": "Why", "try.working": "Searching …",
    "try.error": "Something went wrong", "urgency.crisis": "Crisis help", "urgency.emergency": "Emergency", "urgency.ordinary": "",
    "health.ok": "working", "health.down": "not answering",
  },
};

const STATE_ICON = { critical: "✖", warning: "▲", blocked: "⊘", unknown: "?", passing: "✔", not_applicable: "–" };

let lang = localStorage.getItem("veiviser-lang") === "en" ? "en" : "nb";
const rerenders = [];

function t(key, vars) {
  let text = (TEXT[lang] && TEXT[lang][key]) ?? TEXT.nb[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
  return text;
}

function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/// The static labels (`data-i18n`) and the document language.
function applyLanguage() {
  document.documentElement.lang = lang === "en" ? "en" : "nb";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const button = document.getElementById("lang-switch");
  if (button) {
    button.textContent = t("lang.switch");
    button.setAttribute("lang", lang === "en" ? "nb" : "en");
  }
}

function onLanguageChange(render) {
  rerenders.push(render);
}

function setupLanguageSwitch() {
  const button = document.getElementById("lang-switch");
  if (!button) return;
  button.addEventListener("click", () => {
    lang = lang === "en" ? "nb" : "en";
    localStorage.setItem("veiviser-lang", lang);
    applyLanguage();
    for (const render of rerenders) render();
  });
  applyLanguage();
}

async function fetchJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && (body.detail || body.title);
    throw new Error(`${response.status} ${detail || response.statusText}`);
  }
  return body;
}

/// A state as an icon and a word, so that it is never told by colour alone.
function stateBadge(state) {
  return `<span class="badge state-${escapeHtml(state)}"><span aria-hidden="true">${STATE_ICON[state] || "?"}</span> ${escapeHtml(t("state." + state))}</span>`;
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(lang === "en" ? "en-GB" : "nb-NO", {
    timeZone: "Europe/Oslo", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

function percent(share) {
  return share == null ? "–" : `${(share * 100).toFixed(share === 1 ? 0 : 1)} %`;
}

/// A share of probes that found the service up, as a bar with its number beside it.
function uptimeBar(share, width = 60) {
  if (share == null) return "–";
  const filled = Math.round(share * width);
  const label = `${percent(share)}`;
  return `<svg class="spark" role="img" aria-label="${escapeHtml(label)}" width="${width}" height="10" viewBox="0 0 ${width} 10">`
    + `<rect x="0" y="0" width="${width}" height="10" fill="#e3e7eb"/>`
    + `<rect x="0" y="0" width="${filled}" height="10" fill="${share >= 0.99 ? "#1d6b32" : share >= 0.9 ? "#8a5300" : "#a4161a"}"/></svg> ${escapeHtml(label)}`;
}

/// Latency of recent probes as a small line; failed probes are crosses on the baseline.
function sparkline(points, width = 140, height = 32) {
  if (!points || points.length === 0) {
    return `<span class="muted">${escapeHtml(t("chart.none"))}</span>`;
  }
  const ok = points.filter((p) => p.outcome === "pass" || p.outcome === "warn");
  const max = Math.max(1, ...points.map((p) => p.latency_ms));
  const min = ok.length ? Math.min(...ok.map((p) => p.latency_ms)) : 0;
  const step = points.length > 1 ? (width - 6) / (points.length - 1) : 0;
  const x = (i) => 3 + i * step;
  const y = (ms) => height - 3 - ((height - 6) * ms) / max;
  const line = points
    .map((p, i) => (p.outcome === "pass" || p.outcome === "warn" ? `${x(i).toFixed(1)},${y(p.latency_ms).toFixed(1)}` : null))
    .filter(Boolean)
    .join(" ");
  const crosses = points
    .map((p, i) => (p.outcome === "fail" || p.outcome === "blocked"
      ? `<path d="M${x(i) - 3},${height - 6} l6,6 M${x(i) + 3},${height - 6} l-6,6" stroke="#a4161a" stroke-width="2"/>` : ""))
    .join("");
  const fails = points.length - ok.length;
  const label = t("chart.latency", { n: points.length, min, max: ok.length ? Math.max(...ok.map((p) => p.latency_ms)) : 0, fails });
  return `<svg class="spark" role="img" aria-label="${escapeHtml(label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<title>${escapeHtml(label)}</title>`
    + `<polyline fill="none" stroke="#0b4f9c" stroke-width="2" points="${line}"/>${crosses}</svg>`;
}

/// A channel's open state in words: "Open now – closes 15:00".
function openText(channel) {
  if (channel.open_now == null) return t("open.unknown");
  if (channel.open_now) {
    return channel.closes_at ? `${t("open.open")} – ${t("open.closes", { t: formatTime(channel.closes_at) })}` : `${t("open.open")} – ${t("open.always")}`;
  }
  return channel.next_open ? `${t("open.closed")} – ${t("open.opens", { t: formatTime(channel.next_open) })}` : t("open.closed");
}

function channelLink(channel) {
  const address = channel.address || "";
  if (/^https?:\/\//.test(address)) return `<a href="${escapeHtml(address)}">${escapeHtml(address)}</a>`;
  if (["phone", "sms", "text_phone"].includes(channel.kind) && address) {
    return `<a href="${channel.kind === "sms" ? "sms" : "tel"}:${escapeHtml(address.replace(/\s/g, ""))}">${escapeHtml(address)}</a>`;
  }
  if (channel.kind === "email" && address) return `<a href="mailto:${escapeHtml(address)}">${escapeHtml(address)}</a>`;
  return escapeHtml(address);
}
