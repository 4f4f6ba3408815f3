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

// fields that matter for one choice only: <div data-show-if="frequency=weekly,monthly"> is hidden (and its
// inputs disabled, so they are not sent) unless the form's "frequency" select or checked radio has one of those values
function showChosen() {
  document.querySelectorAll("[data-show-if]").forEach((el) => {
    const [name, values] = el.dataset.showIf.split("=");
    const form = el.closest("form");
    const chooser = form && form.querySelector(`select[name="${name}"], input[type=radio][name="${name}"]:checked`);
    if (!chooser) return;
    const hide = !values.split(",").includes(chooser.value);
    el.hidden = hide;
    el.querySelectorAll("input, select, textarea").forEach((input) => { input.disabled = hide; });
    if (el.matches("input, select, textarea")) el.disabled = hide;
  });
}
document.addEventListener("change", (event) => { if (event.target.closest("form [name]")) showChosen(); });
document.addEventListener("DOMContentLoaded", showChosen);
document.addEventListener("htmx:afterSettle", showChosen);
