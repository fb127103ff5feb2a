// The org-unit import job page while the job runs: reads the page again every few seconds and
// puts its fresh job section in place of the old one, until the job has finished. Without
// JavaScript the page's reload link does the same by hand.
(function () {
  "use strict";
  const section = () => document.getElementById("import-job-section");
  const seconds = Number(section()?.dataset.refreshSeconds || 2);

  async function poll() {
    const current = section();
    if (!current || current.dataset.running !== "true") return;
    try {
      const reply = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      const fresh = new DOMParser()
        .parseFromString(await reply.text(), "text/html")
        .getElementById("import-job-section");
      if (fresh) current.replaceWith(fresh);
    } catch (error) {
      // A failed read leaves the page as it is; the next poll tries again.
    }
    window.setTimeout(poll, seconds * 1000);
  }

  window.setTimeout(poll, seconds * 1000);
})();
