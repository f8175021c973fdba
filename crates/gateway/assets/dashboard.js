"use strict";
const errorsOut = document.getElementById("errors");
function noteError(message) {
  errorsOut.dataset.count = String(Number(errorsOut.dataset.count) + 1);
  errorsOut.textContent += message + "\n";
}
window.addEventListener("error", (e) => noteError(String(e.message)));
window.addEventListener("unhandledrejection", (e) => noteError(String(e.reason)));

const T = {
  en: {},
  hi: {
    title: "कौन कवर है, कौन छूटा", as_on: "आँकड़े इस तिथि तक", scheme: "योजना", state: "राज्य", district: "ज़िला",
    gender: "लिंग", category: "सामाजिक वर्ग", all: "सभी", female: "महिला", male: "पुरुष", transgender: "ट्रांसजेंडर",
    general: "सामान्य", funnel: "संतृप्ति: पंजीकृत → पात्र → नामांकित", registered: "पंजीकृत", eligible: "पात्र",
    enrolled: "नामांकित", gap: "पात्र, पर नामांकित नहीं", by_state: "राज्यवार पंजीकृत श्रमिक", by_gender: "लिंग के अनुसार",
    officer: "राज्य नोडल अधिकारियों के लिए", token: "आपके राज्य का एक्सेस टोकन (reports:read)", sign_in: "साइन इन",
    sign_out: "साइन आउट", districts: "ज़िले", share: "नामांकित हिस्सा", worklist: "कार्यसूची: पात्र, पर नामांकित नहीं",
    name: "नाम", mobile: "मोबाइल", download: "कार्यसूची डाउनलोड करें (CSV)",
    suppressed: "10 से कम संख्या “<10” दिखाई जाती है, और वह संख्या भी जिससे किसी कुल से उसे निकाला जा सके।",
  },
};
const STATES = {"01":"Jammu and Kashmir","02":"Himachal Pradesh","03":"Punjab","04":"Chandigarh","05":"Uttarakhand","06":"Haryana","07":"Delhi","08":"Rajasthan","09":"Uttar Pradesh","10":"Bihar","11":"Sikkim","12":"Arunachal Pradesh","13":"Nagaland","14":"Manipur","15":"Mizoram","16":"Tripura","17":"Meghalaya","18":"Assam","19":"West Bengal","20":"Jharkhand","21":"Odisha","22":"Chhattisgarh","23":"Madhya Pradesh","24":"Gujarat","27":"Maharashtra","28":"Andhra Pradesh","29":"Karnataka","30":"Goa","31":"Lakshadweep","32":"Kerala","33":"Tamil Nadu","34":"Puducherry","35":"Andaman and Nicobar Islands","36":"Telangana","37":"Ladakh","38":"Dadra and Nagar Haveli and Daman and Diu"};
const params = new URLSearchParams(location.search);
let lang = params.get("lang") === "hi" ? "hi" : "en";
// A sign-in link may carry the token in the fragment (never sent to a server): kept for this tab.
if (location.hash.startsWith("#token=")) {
  sessionStorage.setItem("shramsetu-token", decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, "", location.pathname + location.search);
}
let token = sessionStorage.getItem("shramsetu-token") || "";
const fmt = new Intl.NumberFormat("en-IN");
const show = (v) => (typeof v === "number" ? fmt.format(v) : v === undefined || v === null ? "—" : String(v));
const num = (v) => (typeof v === "number" ? v : 0);

function translate() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => {
    if (!el.dataset.en) el.dataset.en = el.textContent;
    el.textContent = lang === "hi" && T.hi[el.dataset.t] ? T.hi[el.dataset.t] : el.dataset.en;
  });
  document.getElementById("lang").textContent = lang === "hi" ? "English" : "हिन्दी";
}

function filters() {
  const f = {};
  for (const el of document.querySelectorAll("#filters select")) if (el.value) f[el.name] = el.value;
  return f;
}

async function getJson(url, auth) {
  const headers = auth ? { Authorization: "Bearer " + token } : {};
  const res = await fetch(url, { headers });
  if (!res.ok) {
    const problem = await res.json().catch(() => ({}));
    throw new Error((problem.title || res.status) + (problem.detail ? ": " + problem.detail : ""));
  }
  return res.json();
}

function coverageUrl(base, groupBy, f) {
  const q = new URLSearchParams({ scheme: f.scheme || "pmsym" });
  if (groupBy) q.set("group_by", groupBy);
  for (const k of ["state_code", "district_code", "gender", "social_category"]) if (f[k]) q.set(k, f[k]);
  return base + "?" + q.toString();
}

function bars(el, rows, label, value, cls) {
  el.replaceChildren();
  const max = Math.max(1, ...rows.map((r) => num(value(r))));
  for (const r of rows) {
    const name = document.createElement("div");
    name.textContent = label(r);
    const track = document.createElement("div");
    const bar = document.createElement("div");
    bar.className = "bar " + (cls || "");
    bar.style.width = (100 * num(value(r)) / max).toFixed(1) + "%";
    track.appendChild(bar);
    const n = document.createElement("div");
    n.className = "num";
    n.textContent = show(value(r));
    n.dataset.key = label(r);
    el.append(name, track, n);
  }
}

function eligibleOf(line) {
  return typeof line.enrolled === "number" && typeof line.eligible_not_enrolled === "number"
    ? line.enrolled + line.eligible_not_enrolled : "<10";
}

async function load() {
  const f = filters();
  const base = token ? "/v1/reports/coverage" : "/dashboard/coverage.json";
  const status = document.getElementById("status");
  status.classList.add("hidden");
  try {
    const [overall, states, genders] = await Promise.all([
      getJson(coverageUrl(base, "", f), !!token),
      getJson(coverageUrl(base, "state", { ...f, state_code: "" }), !!token),
      getJson(coverageUrl(base, "gender", f), !!token),
    ]);
    const total = overall.totals[0] || {};
    document.getElementById("as-of").textContent = overall.as_of;
    document.getElementById("total-registered").textContent = show(total.registered);
    document.getElementById("total-enrolled").textContent = show(total.enrolled);
    document.getElementById("total-gap").textContent = show(total.eligible_not_enrolled);
    document.getElementById("total-eligible").textContent = show(eligibleOf(total));
    const L = (k) => (lang === "hi" && T.hi[k]) || { registered: "Registered", eligible: "Eligible", enrolled: "Enrolled" }[k];
    bars(document.getElementById("funnel"),
      [{ k: "registered", v: total.registered }, { k: "eligible", v: eligibleOf(total) }, { k: "enrolled", v: total.enrolled }],
      (r) => L(r.k), (r) => r.v, "b3");
    const byCount = (a, b) => num(b.registered) - num(a.registered);
    bars(document.getElementById("states"), [...states.rows].sort(byCount), (r) => STATES[r.group.state] || r.group.state, (r) => r.registered);
    const G = (g) => (lang === "hi" && T.hi[g]) || g.charAt(0).toUpperCase() + g.slice(1);
    bars(document.getElementById("genders"), genders.rows, (r) => G(r.group.gender), (r) => r.registered, "b2");
    const stateSelect = document.getElementById("f-state");
    if (stateSelect.options.length === 1) {
      for (const r of states.rows) stateSelect.add(new Option(STATES[r.group.state] || r.group.state, r.group.state));
      if (f.state_code) stateSelect.value = f.state_code;
    }
    if (token) await loadOfficer(f);
  } catch (e) {
    status.textContent = e.message;
    status.classList.remove("hidden");
  }
}

async function loadOfficer(f) {
  const districts = await getJson(coverageUrl("/v1/reports/coverage", "district", { ...f, district_code: "" }), true);
  const body = document.querySelector("#districts tbody");
  body.replaceChildren();
  const select = document.getElementById("f-district");
  const chosen = select.value;
  select.replaceChildren(new Option(lang === "hi" ? T.hi.all : "All", ""));
  for (const r of districts.rows) {
    const tr = document.createElement("tr");
    for (const [v, n] of [[r.group.district, false], [r.registered, true], [r.enrolled, true], [r.eligible_not_enrolled, true],
                          [r.enrolled_share === null ? "—" : (100 * r.enrolled_share).toFixed(1) + "%", true]]) {
      const td = document.createElement("td");
      td.textContent = typeof v === "number" ? show(v) : v;
      if (n) td.className = "num";
      tr.appendChild(td);
    }
    body.appendChild(tr);
    select.add(new Option(r.group.district, r.group.district));
  }
  select.value = chosen;
  const q = new URLSearchParams({ scheme: f.scheme || "pmsym", limit: "50" });
  if (f.state_code) q.set("state_code", f.state_code);
  if (f.district_code) q.set("district_code", f.district_code);
  const gaps = await getJson("/v1/reports/gaps?" + q, true).catch(() => ({ items: [] }));
  const gbody = document.querySelector("#gaps tbody");
  gbody.replaceChildren();
  for (const w of gaps.items) {
    const tr = document.createElement("tr");
    for (const v of [w.uan, w.name, w.district_code, w.mobile]) {
      const td = document.createElement("td");
      td.textContent = v === undefined ? "—" : String(v);
      tr.appendChild(td);
    }
    gbody.appendChild(tr);
  }
  document.getElementById("gaps-csv").onclick = async (e) => {
    e.preventDefault();
    const res = await fetch("/v1/reports/gaps?" + q, { headers: { Authorization: "Bearer " + token, Accept: "text/csv" } });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url; a.download = "worklist-" + (f.scheme || "pmsym") + ".csv"; a.click();
    URL.revokeObjectURL(url);
  };
}

function signedIn() {
  document.querySelectorAll(".officer").forEach((el) => el.classList.toggle("hidden", !token));
  document.getElementById("sign-out").classList.toggle("hidden", !token);
}

for (const el of document.querySelectorAll("#filters select")) {
  const v = params.get(el.name);
  if (v) {
    if (![...el.options].some((o) => o.value === v)) el.add(new Option(v, v));
    el.value = v;
  }
  el.addEventListener("change", () => {
    const q = new URLSearchParams(filters());
    if (lang === "hi") q.set("lang", "hi");
    history.replaceState(null, "", "?" + q);
    load();
  });
}
document.getElementById("lang").addEventListener("click", () => { lang = lang === "hi" ? "en" : "hi"; translate(); load(); });
document.getElementById("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  token = document.getElementById("token").value.trim();
  sessionStorage.setItem("shramsetu-token", token);
  document.getElementById("token").value = "";
  signedIn(); load();
});
document.getElementById("sign-out").addEventListener("click", () => {
  token = ""; sessionStorage.removeItem("shramsetu-token"); signedIn(); load();
});
translate();
signedIn();
load();
