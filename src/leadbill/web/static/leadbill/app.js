// Small enhancements; every page works without them.
document.addEventListener("click", (event) => {
  // "select all" checkboxes for bulk actions: <input type=checkbox data-select-all="name">
  const all = event.target.closest("[data-select-all]");
  if (all) {
    document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`).forEach((box) => { box.checked = all.checked; });
  }
  // buttons that need a second thought: <button data-confirm="Void this invoice?">
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    event.preventDefault();
  }
});
