// ganzoo explore: the page. Plain JavaScript, no build step, nothing loaded from outside this server.
// Each picture comes from one GET (or, for a translation, one POST) to /api/...; an error comes back as
// {"error": "one line"} and is shown in #message. Every <img> the page fills gets data-version bumped once
// its new picture has loaded, which is what the browser test waits for.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { id: null, info: null, request: 0 };

function showError(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (e) { /* not JSON: fall through */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(await errorOf(response));
  return response.json();
}

// Fill <img> with the picture at url (or from a POST), once it has loaded; stale answers are dropped.
async function fillImage(img, url, init) {
  const mine = String(++state.request);
  img.dataset.pending = mine;  // a newer request for this picture makes this one stale
  img.dataset.state = "loading";
  showError("");  // a new try: the last one's message no longer applies
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    img.dataset.state = "error";
    showError(`the server cannot be reached (${e.message}): is ganzoo explore still running?`);
    return false;
  }
  if (!response.ok) {
    const text = await errorOf(response);
    if (img.dataset.pending !== mine) return false;
    img.dataset.state = "error";
    showError(text);
    return false;
  }
  const blob = await response.blob();
  if (img.dataset.pending !== mine) return false;
  const old = img.src;
  await new Promise((resolve) => {
    img.onload = img.onerror = resolve;
    img.src = URL.createObjectURL(blob);
  });
  if (old && old.startsWith("blob:")) URL.revokeObjectURL(old);
  img.hidden = false;
  img.dataset.version = String(Number(img.dataset.version || 0) + 1);
  img.dataset.state = "ready";
  showError("");
  return true;
}

function quote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function seedValue(input) {
  const value = Number(input.value);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

// The query of a grid or walk: the seed, the class, and each declared option that is switched on.
function samplingQuery() {
  const q = new URLSearchParams({ id: state.id, seed: String(seedValue($("seed"))) });
  const flags = [];
  const label = $("label").value;
  if (state.info.conditional && label !== "") {
    q.set("label", label);
    flags.push("--label", label);
  }
  for (const option of state.info.options) {
    const on = $(`use-${option.name}`);
    if (on && on.checked) {
      const value = $(`value-${option.name}`).value;
      q.set(option.flag, value);
      flags.push(`--${option.flag}`, value);
    }
  }
  return { q, flags };
}

async function drawGrid() {
  if (!state.info || state.info.takes !== "noise") return;
  const { q, flags } = samplingQuery();
  $("command").textContent = ["ganzoo", "sample", quote(state.info.command), "--seed", q.get("seed"), ...flags].join(" ");
  $("grid").dataset.seed = q.get("seed");
  await fillImage($("grid"), `/api/grid?${q}`);
}

async function drawWalk() {
  const { q, flags } = samplingQuery();
  const a = q.get("seed");
  const b = String(seedValue($("seed-b")));
  const frames = $("frames").value || "24";
  const format = $("walk-format").value;
  q.delete("seed");
  q.set("a", a); q.set("b", b); q.set("frames", frames); q.set("format", format);
  const button = $("walk-button");
  button.disabled = true;
  try {
    if (await fillImage($("walk"), `/api/walk?${q}`)) {
      const link = $("walk-download");
      link.href = $("walk").src;
      link.download = `${state.info.name.replace(/[^\w.-]+/g, "_")}-walk-${a}-${b}.${format}`;
      link.textContent = `download ${format.toUpperCase()}`;
      link.hidden = false;
      const caption = $("walk-command");
      caption.querySelector("code").textContent = ["ganzoo", "sample", quote(state.info.command), "--walk", a, b,
        "--frames", frames, ...flags, "--out", `walk.${format}`].join(" ");
      caption.hidden = false;
    }
  } finally {
    button.disabled = false;
  }
}

function buildOptions(info) {
  const box = $("options");
  box.replaceChildren();
  for (const option of info.options) {
    const wrap = document.createElement("span");
    wrap.className = "option";
    wrap.title = option.meaning;
    const use = document.createElement("input");
    use.type = "checkbox";
    use.id = `use-${option.name}`;
    const label = document.createElement("label");
    label.htmlFor = use.id;
    label.textContent = `${option.flag} (${option.what})`;
    const range = document.createElement("input");
    range.type = "range";
    range.id = `value-${option.name}`;
    range.min = String(option.slider[0]);
    range.max = String(option.slider[1]);
    range.step = "0.05";
    range.value = String(option.what === "psi" ? 0.7 : Math.min(1, option.slider[1]));
    range.disabled = true;
    const shown = document.createElement("output");
    shown.textContent = range.value;
    use.addEventListener("change", () => { range.disabled = !use.checked; drawGrid(); });
    range.addEventListener("input", () => { shown.textContent = range.value; });
    range.addEventListener("change", () => { use.checked = true; range.disabled = false; drawGrid(); });
    wrap.append(use, label, range, shown);
    box.append(wrap);
  }
}

function setupNoise(info) {
  const select = $("label");
  select.replaceChildren(new Option("one row per class", ""));
  info.classes.forEach((name, k) => select.append(new Option(name === String(k) ? name : `${k}: ${name}`, String(k))));
  $("class-control").hidden = !info.conditional;
  buildOptions(info);
  $("walk").hidden = true;
  $("walk-download").hidden = true;
  $("walk-command").hidden = true;
  $("noise").hidden = false;
  // a walk is an animation of images: points have none
  for (const el of [$("walk-button"), $("seed-b"), $("frames")]) el.disabled = info.modality !== "image";
}

function setupTranslate(info) {
  const select = $("direction");
  select.replaceChildren(...info.directions.map((d) => new Option(d, d)));
  $("direction-control").hidden = info.directions.length < 2;
  clearCanvas();
  $("translated").removeAttribute("src");
  $("translate").hidden = false;
}

async function showRun(info) {
  $("run").hidden = false;
  const table = $("evaluation");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (info.is_run) {
    $("curves").hidden = false;
    fillImage($("curves"), `/api/curves?${new URLSearchParams({ id: info.id })}`);
  } else {
    $("curves").hidden = true;
  }
  try {
    const evaluation = await getJSON(`/api/evaluation?${new URLSearchParams({ id: info.id })}`);
    table.querySelector("caption").textContent =
      `last evaluation${evaluation.step != null ? ` at step ${evaluation.step}` : ""} (${evaluation.source})`;
    for (const [key, value] of Object.entries(evaluation.metrics)) {
      const row = body.insertRow();
      row.insertCell().textContent = key;
      row.insertCell().textContent = Number.isInteger(value) ? String(value) : value.toPrecision(4);
    }
  } catch (e) {
    showError(e.message);
  }
}

async function choose(id) {
  state.id = id;
  state.info = null;
  for (const section of ["noise", "translate", "run"]) $(section).hidden = true;
  $("about").textContent = "loading...";
  if (location.hash.slice(1) !== id) history.replaceState(null, "", `#${id}`);
  let info;
  try {
    info = await getJSON(`/api/describe?${new URLSearchParams({ id })}`);
  } catch (e) {
    $("about").textContent = "";
    showError(e.message);
    return;
  }
  if (state.id !== id) return;  // another was picked meanwhile
  state.info = info;
  showError("");
  const parts = [`generator ${info.generator}`, `step ${info.step}`];
  if (info.ema) parts.push("EMA weights");
  if (info.takes === "image") parts.push(`translates ${info.source.join("x")} pictures`);
  else parts.push(info.modality === "image" ? `draws ${info.shape.join("x")} images` : `draws ${info.shape[0]}-D points`);
  if (info.conditional) parts.push(`${info.classes.length} classes`);
  $("about").textContent = parts.join(", ");
  if (info.takes === "noise") {
    setupNoise(info);
    drawGrid();
  } else {
    setupTranslate(info);
  }
  showRun(info);
}

// -- the drawing canvas ----------------------------------------------------------------------------------

const pen = { down: false, x: 0, y: 0 };

function clearCanvas() {
  const ctx = $("canvas").getContext("2d");
  ctx.fillStyle = "#000";  // opaque black, as MNIST's background: no alpha channel to guess about
  ctx.fillRect(0, 0, $("canvas").width, $("canvas").height);
}

function point(event) {
  const canvas = $("canvas");
  const box = canvas.getBoundingClientRect();
  return { x: (event.clientX - box.left) * canvas.width / box.width, y: (event.clientY - box.top) * canvas.height / box.height };
}

function stroke(to) {
  const ctx = $("canvas").getContext("2d");
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 18;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(pen.x, pen.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
  pen.x = to.x;
  pen.y = to.y;
}

async function translateBlob(blob) {
  if (!state.info || state.info.takes !== "image") return;
  // a model that translates one way lists no directions: the server reads it with its default
  const q = new URLSearchParams({ id: state.id, direction: $("direction").value || "" });
  await fillImage($("translated"), `/api/translate?${q}`, { method: "POST", body: blob,
    headers: { "Content-Type": blob.type || "application/octet-stream" } });
}

function translateCanvas() {
  $("canvas").toBlob((blob) => translateBlob(blob), "image/png");
}

function setupCanvas() {
  const canvas = $("canvas");
  clearCanvas();
  canvas.addEventListener("pointerdown", (e) => {
    pen.down = true;
    const p = point(e);
    pen.x = p.x; pen.y = p.y;
    stroke(p);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => { if (pen.down) stroke(point(e)); });
  const lift = () => { if (pen.down) { pen.down = false; translateCanvas(); } };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  $("clear").addEventListener("click", () => { clearCanvas(); translateCanvas(); });
  $("upload").addEventListener("change", () => {
    const file = $("upload").files[0];
    if (file) translateBlob(file);
    $("upload").value = "";  // the same file again is a new upload
  });
  $("direction").addEventListener("change", translateCanvas);
}

// -- start ------------------------------------------------------------------------------------------------

async function start() {
  setupCanvas();
  $("seed").addEventListener("change", drawGrid);
  $("label").addEventListener("change", drawGrid);
  $("new-seed").addEventListener("click", () => {
    const old = seedValue($("seed"));
    let seed = old;
    while (seed === old) seed = Math.floor(Math.random() * 1000000);
    $("seed").value = String(seed);
    drawGrid();
  });
  $("walk-button").addEventListener("click", drawWalk);
  $("generator").addEventListener("change", () => choose($("generator").value));
  window.addEventListener("hashchange", () => {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id && id !== state.id) { $("generator").value = id; choose(id); }
  });
  let listing;
  try {
    listing = await getJSON("/api/generators");
  } catch (e) {
    showError(e.message);
    return;
  }
  const select = $("generator");
  const groups = { given: "given", pretrained: "pretrained", runs: `runs in ${listing.runs}` };
  for (const [group, title] of Object.entries(groups)) {
    const members = listing.generators.filter((g) => g.group === group);
    if (!members.length) continue;
    const optgroup = document.createElement("optgroup");
    optgroup.label = title;
    for (const g of members) optgroup.append(new Option(g.name, g.id));
    select.append(optgroup);
  }
  if (!listing.generators.length) {
    showError("no generator to show: no pretrained generator is installed and no run is under " + listing.runs);
    return;
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = listing.generators.some((g) => g.id === wanted) ? wanted : listing.generators[0].id;
  select.value = first;
  document.body.dataset.ready = "true";
  choose(first);
}

start();
