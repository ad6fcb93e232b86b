// Keeps the expert's chat live while this dashboard is open (SP-chat-presence): the
// server counts the connection and its heartbeats; when they stop, chat goes off after
// the grace period.
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/expert/presence";
const HEARTBEAT_MS = 30000;

function connect() {
  const socket = new WebSocket(url);
  let timer;
  socket.addEventListener("open", () => {
    document.documentElement.dataset.presence = "connected";
    timer = setInterval(() => socket.send("beat"), HEARTBEAT_MS);
  });
  socket.addEventListener("close", () => {
    document.documentElement.dataset.presence = "disconnected";
    clearInterval(timer);
    setTimeout(connect, 5000);
  });
}

connect();
