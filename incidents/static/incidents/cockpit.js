/* Piquet: parts of a page that refresh themselves.
 *
 * An element with data-piquet-refresh="<seconds>" and an id is fetched again every that many seconds, from
 * data-piquet-refresh-url (else the page's own URL, query string included, so filters stay), and its content is
 * replaced by the element with the same id in the answer. The scroll position is kept; nothing is replaced while
 * the page is hidden, while something inside the element has the focus, or while a row is ticked for an action.
 */
(function () {
  "use strict";

  function busy(element) {
    if (element.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    return element.querySelector("input[type=checkbox]:checked") !== null;
  }

  // The admin's actions.js binds the new rows' checkboxes (select all, the counter) once, at load.
  function rebindActions(element) {
    var rows = element.querySelectorAll("tr input.action-select");
    if (rows.length > 0 && typeof window.Actions === "function") {
      window.Actions(rows);
    }
  }

  function refresh(element) {
    if (document.hidden || busy(element)) {
      return Promise.resolve();
    }
    var url = element.getAttribute("data-piquet-refresh-url") || window.location.href;
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.id);
        if (fresh === null || busy(element) || fresh.innerHTML === element.innerHTML) {
          return;
        }
        var x = window.scrollX, y = window.scrollY;
        element.innerHTML = fresh.innerHTML;
        element.setAttribute("data-piquet-refreshed", new Date().toISOString());
        rebindActions(element);
        window.scrollTo(x, y);
      })
      .catch(function () {
        element.setAttribute("data-piquet-refresh-failed", new Date().toISOString());
      });
  }

  function start() {
    var elements = document.querySelectorAll("[data-piquet-refresh][id]");
    Array.prototype.forEach.call(elements, function (element) {
      var seconds = parseFloat(element.getAttribute("data-piquet-refresh")) || 15;
      var running = false;
      window.setInterval(function () {
        if (running) {
          return;
        }
        running = true;
        refresh(element).then(function () {
          running = false;
        });
      }, seconds * 1000);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
