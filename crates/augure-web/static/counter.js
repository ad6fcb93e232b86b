// Long text fields say how much is typed against their limits as one types: the text
// under the field (the limits, written by the server in the page's language) gets the
// count in front, "312 / 2000 · Between 200 and 2000 characters."
for (const field of document.querySelectorAll("textarea[data-count-max]")) {
  const note = document.getElementById(field.getAttribute("aria-describedby"));
  if (!note) continue;
  const limits = note.textContent;
  const min = Number(field.dataset.countMin || 0);
  const max = Number(field.dataset.countMax);
  const update = () => {
    const count = [...field.value].length;
    note.textContent = `${count} / ${max} · ${limits}`;
    note.classList.toggle("over", count > max || (min > 0 && count > 0 && count < min));
  };
  field.addEventListener("input", update);
  update();
}
