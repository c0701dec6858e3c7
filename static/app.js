// Progressive enhancement only: every page works without this file.
// A division select with data-filters="<id>" limits that product select to the division's products.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-filters]").forEach((division) => {
    const products = document.getElementById(division.dataset.filters);
    if (!products) return;
    const apply = () => {
      for (const option of products.options) {
        const owner = option.dataset.division;
        if (owner === undefined) continue;
        option.hidden = owner !== division.value;
      }
      const chosen = products.selectedOptions[0];
      if (chosen && chosen.dataset.division && chosen.dataset.division !== division.value) products.value = "";
    };
    division.addEventListener("change", apply);
    apply();
  });
  // A section with data-load="<url>" is replaced by the HTML fragment at that URL (an incident's similar lessons,
  // which search the whole library and so load after the page). Without it, the section's link leads there.
  document.querySelectorAll("[data-load]").forEach((section) => {
    fetch(section.dataset.load, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => { section.outerHTML = html; })
      .catch(() => {});
  });
});
