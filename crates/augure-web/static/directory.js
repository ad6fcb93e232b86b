// Keeps the expert listing current without a reload: the server announces changes
// (an expert going available, a pause ending...) on /directory/events; the page then
// fetches itself again and swaps the listing. Changes in a burst are fetched once.
const listing = document.getElementById("listing");
if (listing && "EventSource" in window) {
  let timer = null;
  const refresh = async () => {
    timer = null;
    try {
      const response = await fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("listing");
      if (fresh) {
        listing.innerHTML = fresh.innerHTML;
        listing.dataset.refreshed = String(Number(listing.dataset.refreshed || 0) + 1);
      }
    } catch (_) {
      // Offline for a moment: the next change or the periodic refresh catches up.
    }
  };
  const soon = () => { if (!timer) timer = setTimeout(refresh, 400); };
  const events = new EventSource("/directory/events");
  events.addEventListener("changed", soon);
  // Pauses and presence grace periods end without any event: refresh now and then.
  setInterval(soon, 60000);
}
