// One WebSocket per tab (/ws): it keeps an expert's chat live while their dashboard is
// open (SP-chat-presence), brings rings, and carries the chat this page shows. Texts come
// from the server already in the reader's language; this script only places them.
const root = document.documentElement;
const chat = document.getElementById("chat");
const consultation = chat ? chat.dataset.consultation : null;
const side = chat ? chat.dataset.side : null;
let lastSeq = chat ? Number(chat.dataset.lastSeq || 0) : 0;
let socket = null;
let beat = null;
let retry = 1000;
let meter = null;
let ended = false;
let pendingKey = null;
const HEARTBEAT_MS = 5000;
const $ = (id) => document.getElementById(id);

function url() {
  const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  return consultation ? `${base}?consultation=${consultation}&after=${lastSeq}` : base;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function connect() {
  socket = new WebSocket(url());
  socket.addEventListener("open", () => {
    root.dataset.presence = "connected";
    root.dataset.socket = "open";
    retry = 1000;
    beat = setInterval(() => send({ type: "beat" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (e) => {
    try {
      handle(JSON.parse(e.data));
    } catch (err) {
      console.error(err);
    }
  });
  socket.addEventListener("close", () => {
    root.dataset.presence = "disconnected";
    root.dataset.socket = "closed";
    clearInterval(beat);
    if (ended) return;
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  });
}

function alertText(text) {
  const box = $("chat-alert");
  if (!box) return;
  box.textContent = text || "";
  box.hidden = !text;
}

function mmss(total) {
  const s = Math.max(0, Math.floor(total));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

// The meter as the server last said, counted on between frames while it runs. The
// server bills only up to when both tabs were last heard (each beats every few seconds),
// so one frame can be a few seconds behind another: the count follows the most advanced
// frame, runs on by itself at most a heartbeat past the server's latest figure (a side
// that went silent stops it), and never goes back.
const AHEAD_SECONDS = 6;
let shownSeconds = 0;
let aheadBase = null;
function showMeter() {
  if (!meter) return;
  const box = $("meter");
  if (box) box.hidden = false;
  const now = Date.now() / 1000;
  const since = now - meter.at / 1000;
  let elapsed = meter.billable_seconds;
  if (meter.running && aheadBase !== null) {
    elapsed = Math.max(elapsed, Math.min(now - aheadBase, meter.billable_seconds + AHEAD_SECONDS));
  }
  shownSeconds = Math.max(shownSeconds, elapsed);
  $("meter-elapsed").textContent = mmss(shownSeconds);
  $("meter-charge").textContent = meter.charge;
  if ($("meter-credit")) $("meter-credit").textContent = meter.credit_left;
  if ($("meter-left")) {
    const left = meter.cut_in === null ? null : meter.cut_in - (meter.running ? since : 0);
    $("meter-left").textContent = left === null ? "—" : mmss(left);
  }
}
setInterval(showMeter, 1000);

function addMessage(f) {
  if (f.seq <= lastSeq) return;
  lastSeq = f.seq;
  const list = $("transcript");
  const li = document.createElement("li");
  li.className = "message" + (f.mine ? " mine" : "");
  li.dataset.seq = f.seq;
  const meta = document.createElement("p");
  meta.className = "message-meta";
  const who = document.createElement("strong");
  who.textContent = f.mine ? chat.dataset.you || "" : chat.dataset.other || "";
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = f.at;
  meta.append(who, " ", when);
  li.append(meta);
  if (f.text) {
    // Text only: whatever was typed is never read as HTML.
    const p = document.createElement("p");
    p.className = "message-text";
    p.textContent = f.text;
    li.append(p);
  }
  if (f.image) {
    const p = document.createElement("p");
    const img = document.createElement("img");
    img.src = f.image;
    img.alt = chat.dataset.imageAlt || "";
    img.className = "chat-image";
    p.append(img);
    li.append(p);
  }
  if (f.masked) {
    const p = document.createElement("p");
    p.className = "muted small";
    p.textContent = f.masked;
    li.append(p);
  }
  list.append(li);
  li.scrollIntoView({ block: "nearest" });
  if (f.mine && f.key === pendingKey) {
    $("chat-text").value = "";
    pendingKey = null;
  }
  if (!f.mine && !document.hidden) send({ type: "read", up_to: f.seq });
}

function markOwn(upTo, label) {
  for (const li of document.querySelectorAll("#transcript li.mine")) {
    if (Number(li.dataset.seq) <= upTo) li.dataset.mark = label;
  }
}

function ring(f) {
  const list = $("rings");
  root.dataset.lastRing = String(f.consultation);
  window.dispatchEvent(new CustomEvent("augure:ring", { detail: f }));
  if (!list || document.getElementById(`ring-${f.consultation}`)) return;
  const li = document.createElement("li");
  li.id = `ring-${f.consultation}`;
  li.className = "ring card";
  const text = document.createElement("p");
  text.textContent = f.text;
  const accept = document.createElement("form");
  accept.method = "post";
  accept.action = `${f.url}/accept`;
  accept.className = "inline";
  const button = document.createElement("button");
  button.className = "button";
  button.type = "submit";
  button.textContent = list.dataset.accept || "";
  accept.append(button);
  const open = document.createElement("a");
  open.href = f.url;
  open.textContent = list.dataset.open || "";
  li.append(text, accept, " ", open);
  list.append(li);
  const section = $("rings-section");
  if (section) section.hidden = false;
  if (localStorage.getItem("augure-sound") === "on") beep();
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(f.text);
  }
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch (_) {
    // No sound where the browser refuses it: the ring still shows.
  }
}

let typingTimer = null;
function handle(f) {
  if (f.consultation && consultation && String(f.consultation) !== consultation && f.type !== "ring" && f.type !== "ring_over") return;
  switch (f.type) {
    case "ring":
      ring(f);
      break;
    case "ring_over": {
      const li = document.getElementById(`ring-${f.consultation}`);
      if (li) li.remove();
      break;
    }
    case "state":
      chat.dataset.status = f.status;
      chat.dataset.other = f.other;
      $("chat-status").textContent = f.text;
      if (f.status === "settled" || f.status === "lost") finish(null);
      break;
    case "answered":
    case "started":
      $("chat-status").textContent = f.text;
      if ($("ring-actions")) $("ring-actions").remove();
      chat.dataset.status = "live";
      break;
    case "message":
      addMessage(f);
      break;
    case "typing":
      $("chat-typing").textContent = chat.dataset.typing || "";
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => ($("chat-typing").textContent = ""), 3000);
      break;
    case "delivered":
      markOwn(f.up_to, "delivered");
      break;
    case "read":
      markOwn(f.up_to, "read");
      break;
    case "meter":
      meter = { ...f, at: Date.now() };
      {
        const base = Date.now() / 1000 - f.billable_seconds;
        aheadBase = f.running ? (aheadBase === null ? base : Math.min(aheadBase, base)) : null;
      }
      showMeter();
      break;
    case "warning":
    case "paused":
    case "reconnecting":
      alertText(f.text);
      break;
    case "resumed":
    case "back":
      alertText("");
      break;
    case "note": {
      const pop = $("note-popup");
      if (pop && f.body) {
        pop.querySelector("p").textContent = f.body;
        pop.hidden = false;
      }
      break;
    }
    case "ended":
      finish(`${f.text} ${f.summary}`);
      break;
    case "lost":
      finish(f.text);
      break;
    case "error":
      alertText(f.text);
      break;
  }
}

// The chat is over: say so, then show the consultation's page with its summary.
function finish(text) {
  if (ended) return;
  ended = true;
  if (text) $("chat-status").textContent = text;
  for (const el of document.querySelectorAll("#composer, #image-form, .chat-actions")) el.hidden = true;
  if (socket) socket.close();
  setTimeout(() => location.reload(), text ? 2500 : 0);
}

if (chat) {
  const form = $("composer");
  const text = $("chat-text");
  if (form && text) {
    form.addEventListener("submit", (e) => {
      const value = text.value;
      if (!value.trim()) return;
      pendingKey = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      if (send({ type: "send", text: value, key: pendingKey })) e.preventDefault();
    });
    let lastTyping = 0;
    text.addEventListener("input", () => {
      if (Date.now() - lastTyping > 2000) {
        lastTyping = Date.now();
        send({ type: "typing" });
      }
    });
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && lastSeq > 0) send({ type: "read", up_to: lastSeq });
  });
}

const sound = $("enable-sound");
if (sound) {
  sound.hidden = localStorage.getItem("augure-sound") === "on";
  sound.addEventListener("click", () => {
    // A click is the gesture browsers want before a page may play sound.
    localStorage.setItem("augure-sound", "on");
    beep();
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
    sound.hidden = true;
  });
}

connect();
