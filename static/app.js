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
      if (chosen && chosen.dataset.division && chosen.dataset.division !== division.value) products.value = "0";
    };
    division.addEventListener("change", apply);
    apply();
  });
});
